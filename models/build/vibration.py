"""vibration-anomaly: an autoencoder over 50 ms accelerometer windows that
scores how unlike a healthy bearing a window looks.

Trained on healthy windows only; the score is the mean squared
reconstruction error divided by the median error of healthy validation
windows (so 1 = a typical healthy window). Exported as fp32 ONNX, int8 ONNX
(static QDQ) and a TF.js LayersModel with uint8 weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from sklearn.metrics import roc_auc_score

import common
import vibration_autoencoder as ae
import vibration_data as data
import vibration_onnx as graph
import vibration_tfjs as tfjs

NAME = "vibration-anomaly"
TRAIN_SEED, VALID_SEED, TEST_SEED, CALIB_SEED, INIT_SEED = 1, 4, 2, 3, 11
N_TRAIN = 8000
N_VALID = 1000
N_TEST_EACH = 1000
N_CALIB_EACH = 256
EPOCHS = 100
THRESHOLD_PERCENTILE = 99.0
TOLERANCE = 1e-4
INPUT_META = {
    "name": graph.INPUT,
    "dtype": "float32",
    "shape": [-1, data.WINDOW],
    "features": ["acceleration"],
    "units": ["g"],
    "window": {"samples": data.WINDOW, "sampleRateHz": data.SAMPLE_RATE_HZ},
}


def _scores(path_or_model: Path | onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    if isinstance(path_or_model, Path):
        return common.run(common.session(path_or_model), {graph.INPUT: x})
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path_or_model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    return common.run(sess, {graph.INPUT: x})


def _detection(scores: np.ndarray, faulty: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = scores > threshold
    return {
        "rocAuc": float(roc_auc_score(faulty, scores)),
        "truePositiveRate": float(np.mean(flagged[faulty == 1])),
        "falsePositiveRate": float(np.mean(flagged[faulty == 0])),
    }


def build(out_dir: Path) -> dict[str, Any]:
    train = data.generate(TRAIN_SEED, N_TRAIN, 0)
    valid = data.generate(VALID_SEED, N_VALID, 0)
    test = data.generate(TEST_SEED, N_TEST_EACH, N_TEST_EACH)
    calib = data.generate(CALIB_SEED, N_CALIB_EACH, N_CALIB_EACH)

    input_scale = float(np.std(train.x.astype(np.float64)))
    trained, history = ae.train((train.x / np.float32(input_scale)).astype(np.float32), seed=INIT_SEED, epochs=EPOCHS)
    layers = ae.fold_input_scale(trained, input_scale)
    reference_mse = float(np.median(ae.score(layers, valid.x)))
    score_scale = float(np.float32(1.0 / reference_mse))

    core = graph.core_model(layers, data.WINDOW)
    fp32 = graph.add_score_head(onnx.ModelProto.FromString(core.SerializeToString()), score_scale)
    common.stamp_model(fp32, "bearing vibration anomaly autoencoder, fp32")
    fp32_path = out_dir / "model.onnx"
    common.save_model(fp32, fp32_path)

    # Quantize the autoencoder alone, then add the float score head, so the
    # score compares the unquantized window with the reconstruction.
    int8 = common.quantize_int8_qdq(core, graph.INPUT, calib.x, op_types=("MatMul",))
    int8 = graph.add_score_head(int8, score_scale)
    common.stamp_model(int8, "bearing vibration anomaly autoencoder, int8 QDQ")
    int8_path = out_dir / "model.int8.onnx"
    common.save_model(int8, int8_path)

    tfjs_dir = out_dir / "tfjs"
    tfjs_layers = tfjs.write(tfjs_dir, layers, data.WINDOW, graph.INPUT, score_scale)
    # The TF.js reference: the same graph with the weights TF.js dequantizes.
    tfjs_ref = graph.add_score_head(graph.core_model(tfjs_layers, data.WINDOW), score_scale)

    threshold = float(np.percentile(_scores(fp32_path, valid.x)["anomaly_score"], THRESHOLD_PERCENTILE))
    threshold = common.f32(threshold)
    runs = {
        "fp32": _scores(fp32_path, test.x),
        "int8": _scores(int8_path, test.x),
        "tfjs-uint8": _scores(tfjs_ref, test.x),
    }
    metrics = {k: _detection(v["anomaly_score"], test.faulty, threshold) for k, v in runs.items()}
    numpy_scores = ae.score(layers, test.x) * score_scale
    onnx_vs_numpy = float(np.max(np.abs(numpy_scores - runs["fp32"]["anomaly_score"]) / numpy_scores))

    # Golden vectors: alternate healthy / faulty held-out windows.
    healthy = np.flatnonzero(test.faulty == 0)[:3]
    faulty = np.flatnonzero(test.faulty == 1)[:3]
    picks = [int(i) for pair in zip(healthy, faulty) for i in pair]
    golden_models: dict[str, Any] = {}
    for key, fmt, model in (
        ("model.onnx", "onnx", fp32_path),
        ("model.int8.onnx", "onnx", int8_path),
        ("tfjs/model.json", "tfjs", tfjs_ref),
    ):
        vectors = []
        for i in picks:
            out = _scores(model, test.x[i : i + 1])
            score = out["anomaly_score"]
            if fmt == "tfjs":
                score = score.reshape(-1, 1)  # GlobalAveragePooling1D keeps a channel axis
            vectors.append(
                {
                    "input": {"acceleration": common.to_json_list(test.x[i])},
                    "output": {
                        "anomaly_score": common.to_json_list(score),
                        "reconstruction": common.to_json_list(out["reconstruction"]),
                    },
                    "faulty": bool(test.faulty[i]),
                }
            )
        golden_models[key] = {"format": fmt, "vectors": vectors}

    common.write_golden(out_dir, name=NAME, tolerance=TOLERANCE, inputs=[INPUT_META], models=golden_models)

    def outputs_meta(score_shape: list[int]) -> list[dict[str, Any]]:
        return [
            {
                "name": "anomaly_score",
                "dtype": "float32",
                "shape": score_shape,
                "unit": "1 (mean squared reconstruction error / healthy median)",
                "threshold": threshold,
            },
            {"name": "reconstruction", "dtype": "float32", "shape": [-1, data.WINDOW], "unit": "g"},
        ]

    def small_vectors(key: str) -> list[dict[str, Any]]:
        # Scores only: a reconstruction would add 256 numbers per vector.
        return [
            {"input": v["input"], "output": {"anomaly_score": v["output"]["anomaly_score"]}}
            for v in golden_models[key]["vectors"][:3]
        ]

    common.write_manifest(
        out_dir,
        name=NAME,
        fmt="onnx",
        entry="model.int8.onnx",
        files=["model.int8.onnx"],
        inputs=[INPUT_META],
        outputs=outputs_meta([-1]),
        tolerance=TOLERANCE,
        vectors=small_vectors("model.int8.onnx"),
    )
    common.write_manifest(
        tfjs_dir,
        name=f"{NAME}-tfjs",
        fmt="tfjs",
        entry="model.json",
        files=["model.json", tfjs.SHARD],
        inputs=[INPUT_META],
        outputs=outputs_meta([-1, 1]),
        tolerance=TOLERANCE,
        vectors=small_vectors("tfjs/model.json"),
    )

    n_weights = sum(layer.w.size + layer.b.size for layer in layers)
    sizes = {
        "model.onnx": fp32_path.stat().st_size,
        "model.int8.onnx": int8_path.stat().st_size,
        "tfjs/model.json": (tfjs_dir / "model.json").stat().st_size,
        f"tfjs/{tfjs.SHARD}": (tfjs_dir / tfjs.SHARD).stat().st_size,
    }
    summary = {
        "name": NAME,
        "train": N_TRAIN,
        "valid": N_VALID,
        "test": {"healthy": N_TEST_EACH, "faulty": N_TEST_EACH},
        "parameters": int(n_weights),
        "fp32WeightBytes": int(n_weights * 4),
        "finalTrainingLoss": history[-1],
        "referenceMse": reference_mse,
        "threshold": threshold,
        "metrics": metrics,
        "onnxVsNumpyMaxRelativeDiff": onnx_vs_numpy,
        "sizes": sizes,
        "int8SizeRatio": sizes["model.int8.onnx"] / sizes["model.onnx"],
    }
    write_card(out_dir, summary)
    auc_drift = abs(metrics["fp32"]["rocAuc"] - metrics["int8"]["rocAuc"])
    if auc_drift > 0.01 or summary["int8SizeRatio"] > 0.35:
        raise SystemExit(f"vibration-anomaly: quantization budget exceeded: {summary}")
    return summary


def write_card(out_dir: Path, s: dict[str, Any]) -> None:
    m = s["metrics"]
    rows = "\n".join(
        f"| {k} | {v['rocAuc']:.4f} | {v['truePositiveRate']:.3f} | {v['falsePositiveRate']:.3f} |" for k, v in m.items()
    )
    sz = s["sizes"]
    tfjs_total = sz["tfjs/model.json"] + sz[f"tfjs/{tfjs.SHARD}"]
    card = f"""# vibration-anomaly — model card

Generated by `models/build/vibration.py`; do not edit by hand.

## Task

Score how unlike a healthy rolling-element bearing a 50 ms accelerometer
window looks: the typical Raspberry Pi condition-monitoring workload. A
dense autoencoder trained on healthy windows only reconstructs healthy
vibration well and bearing-defect impacts badly; the score is its
reconstruction error.

Data is synthetic, generated by `models/build/vibration_data.py` from fixed
seeds (6205 bearing geometry, {data.SAMPLE_RATE_HZ} Hz sampling, shaft at
1200–3000 rpm):

- healthy: 1x/2x/3x shaft harmonics, a structural tone at 300–600 Hz and
  sensor noise (σ {data.NOISE_G[0]}–{data.NOISE_G[1]} g);
- faulty: healthy plus impacts at the outer-race (BPFO = {data.BPFO_FACTOR} × shaft)
  or inner-race (BPFI = {data.BPFI_FACTOR} × shaft, modulated by shaft rotation)
  defect frequency, each ringing a {data.RESONANCE_HZ[0]:.0f}–{data.RESONANCE_HZ[1]:.0f} Hz resonance,
  peak {data.IMPACT_G[0]}–{data.IMPACT_G[1]} g (log-uniform, so many faults are faint).

Training: {s["train"]} healthy windows (seed {TRAIN_SEED}), {EPOCHS} epochs of Adam on
MSE, numpy only. Validation: {s["valid"]} healthy windows (seed {VALID_SEED}) set the
score's reference and threshold. Held-out test: {s["test"]["healthy"]} healthy +
{s["test"]["faulty"]} faulty windows (seed {TEST_SEED}).

Network: 256 → 128 (ReLU) → 32 → 128 (ReLU) → 256, {s["parameters"]:,} parameters
({s["fp32WeightBytes"]:,} bytes of fp32 weights). The input normalization is folded
into the first and last layers, so the graph takes raw acceleration in g.

## Inputs

| name | dtype | shape | unit |
|---|---|---|---|
| `{graph.INPUT}` | float32 | `[batch, {data.WINDOW}]` | g (acceleration), {data.WINDOW} consecutive samples at {data.SAMPLE_RATE_HZ} Hz |

Named-feature form (manifest, golden vectors): one feature `acceleration`
whose value is the array of {data.WINDOW} samples, oldest first.

## Outputs

| name | dtype | shape | meaning |
|---|---|---|---|
| `anomaly_score` | float32 | `[batch]` (TF.js: `[batch, 1]`) | mean squared reconstruction error / {s["referenceMse"]:.6g} g² (the median of healthy validation windows); 1 ≈ a typical healthy window |
| `reconstruction` | float32 | `[batch, {data.WINDOW}]` | the reconstructed window, g |

Suggested alarm threshold: `anomaly_score > {s["threshold"]}` (the
{THRESHOLD_PERCENTILE:g}th percentile of healthy validation windows); the manifest carries it as
`outputs[0].threshold`.

## Metrics on the held-out test set

| model | ROC-AUC | true-positive rate at threshold | false-positive rate at threshold |
|---|---|---|---|
{rows}

ROC-AUC drift int8 vs fp32: {abs(m["int8"]["rocAuc"] - m["fp32"]["rocAuc"]):.4f} (budget 0.01); TF.js uint8
vs fp32: {abs(m["tfjs-uint8"]["rocAuc"] - m["fp32"]["rocAuc"]):.4f}.

## Files

| file | size |
|---|---|
| `model.onnx` (fp32) | {common.fmt_size(sz["model.onnx"])} |
| `model.int8.onnx` (int8) | {common.fmt_size(sz["model.int8.onnx"])}, {s["int8SizeRatio"]:.1%} of fp32 (budget 35 %) |
| `tfjs/model.json` | {common.fmt_size(sz["tfjs/model.json"])} |
| `tfjs/{tfjs.SHARD}` (uint8 weights) | {common.fmt_size(sz[f"tfjs/{tfjs.SHARD}"])} |
| TF.js total | {common.fmt_size(tfjs_total)}, {tfjs_total / sz["model.onnx"]:.1%} of fp32 ONNX |

## Quantization

### ONNX int8

{common.QUANTIZATION_NOTE.format(ops="MatMul")}

Calibrated over {2 * N_CALIB_EACH} separate windows (seed {CALIB_SEED}, half faulty so
that impact amplitudes are inside the calibrated range); biases and the
score head stay float. The score head is added after quantization: it
compares the float window with the reconstruction.

### TF.js uint8

Every weight tensor is stored as uint8 with its own `min` and `scale`
in `weightsManifest` (`value = q * scale + min`); TF.js dequantizes on
load and computes in float32. TF.js has no Subtract layer, so the graph
computes the residual as `Add(window, Rescaling(-1)(reconstruction))`.

## Golden vectors

`golden.json`: three healthy and three faulty held-out windows for each of
`model.onnx`, `model.int8.onnx` and `tfjs/model.json`, outputs computed with
onnxruntime {common.ort.__version__} (Python, one thread); for TF.js, on the same graph
with the dequantized uint8 weights. The manifests carry the first three
(scores only). Tolerance {TOLERANCE} (absolute, or relative for values above 1).
"""
    common.write_text(out_dir / "card.md", card)
