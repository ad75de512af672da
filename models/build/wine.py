"""wine: a small MLP classifier on the wine data set that scikit-learn ships.

The StandardScaler is part of the ONNX graph, so a device feeds the raw
chemical measurements. Converted with skl2onnx (zipmap off: the outputs are a
label tensor and a probability tensor), then int8-quantized (static QDQ).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import common

NAME = "wine"
SPLIT_SEED = 42
MODEL_SEED = 7
TEST_SIZE = 0.3
INPUT_NAME = "features"
TOLERANCE = 1e-4

# The UCI wine data set does not state units; these are the conventional
# units of the original study (Forina et al., PARVUS). "1" = dimensionless.
UNITS = {
    "alcohol": "%vol",
    "malic_acid": "g/L",
    "ash": "g/L",
    "alcalinity_of_ash": "mEq/L",
    "magnesium": "mg/L",
    "total_phenols": "g/L",
    "flavanoids": "g/L",
    "nonflavanoid_phenols": "g/L",
    "proanthocyanins": "g/L",
    "color_intensity": "AU",
    "hue": "1",
    "od280/od315_of_diluted_wines": "1",
    "proline": "mg/L",
}


def build(out_dir: Path) -> dict[str, Any]:
    data = load_wine()
    features: list[str] = list(data.feature_names)
    labels: list[str] = [str(t) for t in data.target_names]
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )

    pipeline = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", alpha=1e-2, max_iter=2000, random_state=MODEL_SEED),
    )
    pipeline.fit(x_train, y_train)

    fp32 = to_onnx(
        pipeline,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(features)]))],
        options={"zipmap": False},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    common.stamp_model(fp32, "wine cultivar classifier (StandardScaler + MLP), fp32")
    fp32_path = out_dir / "model.onnx"
    common.save_model(fp32, fp32_path)

    # Calibrate on the training split only: the held-out split stays unseen.
    int8 = common.quantize_int8_qdq(fp32, INPUT_NAME, x_train, op_types=("MatMul", "Gemm"))
    common.stamp_model(int8, "wine cultivar classifier (StandardScaler + MLP), int8 QDQ")
    int8_path = out_dir / "model.int8.onnx"
    common.save_model(int8, int8_path)

    metrics = {}
    outputs = {}
    for key, path in (("fp32", fp32_path), ("int8", int8_path)):
        out = common.run(common.session(path), {INPUT_NAME: x_test})
        outputs[key] = out
        metrics[key] = {"accuracy": float(np.mean(out["label"] == y_test))}
    agreement = float(np.mean(outputs["fp32"]["label"] == outputs["int8"]["label"]))
    max_prob_diff = float(np.max(np.abs(outputs["fp32"]["probabilities"] - outputs["int8"]["probabilities"])))
    sklearn_accuracy = float(pipeline.score(x_test, y_test))

    # Golden vectors: the first three held-out samples of each class.
    picks = [int(i) for c in range(len(labels)) for i in np.flatnonzero(y_test == c)[:3]]
    golden_models = {}
    for key, path in (("model.onnx", fp32_path), ("model.int8.onnx", int8_path)):
        sess = common.session(path)
        vectors = []
        for i in picks:
            out = common.run(sess, {INPUT_NAME: x_test[i : i + 1]})
            vectors.append(
                {
                    "input": {f: common.f32(v) for f, v in zip(features, x_test[i])},
                    "output": {
                        "label": common.to_json_list(out["label"]),
                        "probabilities": common.to_json_list(out["probabilities"]),
                    },
                    "expectedClass": labels[int(y_test[i])],
                }
            )
        golden_models[key] = vectors

    inputs = [
        {
            "name": INPUT_NAME,
            "dtype": "float32",
            "shape": [-1, len(features)],
            "features": features,
            "units": [UNITS[f] for f in features],
        }
    ]
    outputs_meta = [
        {"name": "label", "dtype": "int64", "shape": [-1], "labels": labels},
        {"name": "probabilities", "dtype": "float32", "shape": [-1, len(labels)], "labels": labels},
    ]
    common.write_golden(
        out_dir,
        name=NAME,
        tolerance=TOLERANCE,
        inputs=inputs,
        models={k: {"format": "onnx", "vectors": v} for k, v in golden_models.items()},
    )
    # One vector per class in the manifest keeps it small.
    manifest_vectors = [
        {"input": v["input"], "output": v["output"]} for v in golden_models["model.int8.onnx"][::3]
    ]
    common.write_manifest(
        out_dir,
        name=NAME,
        fmt="onnx",
        entry="model.int8.onnx",
        files=["model.int8.onnx"],
        inputs=inputs,
        outputs=outputs_meta,
        tolerance=TOLERANCE,
        vectors=manifest_vectors,
    )

    sizes = {p.name: p.stat().st_size for p in (fp32_path, int8_path)}
    summary = {
        "name": NAME,
        "train": int(len(y_train)),
        "test": int(len(y_test)),
        "metrics": metrics,
        "sklearnAccuracy": sklearn_accuracy,
        "agreement": agreement,
        "maxProbabilityDiff": max_prob_diff,
        "sizes": sizes,
    }
    write_card(out_dir, summary, features, labels)
    if abs(metrics["fp32"]["accuracy"] - metrics["int8"]["accuracy"]) > 0.01:
        raise SystemExit(f"wine: int8 accuracy drifted more than 1 point: {metrics}")
    return summary


def write_card(out_dir: Path, s: dict[str, Any], features: list[str], labels: list[str]) -> None:
    rows = "\n".join(f"| {i} | `{f}` | {UNITS[f]} |" for i, f in enumerate(features))
    fp32, int8 = s["metrics"]["fp32"]["accuracy"], s["metrics"]["int8"]["accuracy"]
    ratio = s["sizes"]["model.int8.onnx"] / s["sizes"]["model.onnx"]
    card = f"""# wine — model card

Generated by `models/build/wine.py`; do not edit by hand.

## Task

Classify a wine into one of three cultivars ({", ".join(f"`{c}`" for c in labels)}) from 13
chemical measurements. Data: the UCI wine data set that scikit-learn ships
(`sklearn.datasets.load_wine`, 178 samples), stratified split with seed
{SPLIT_SEED}: {s["train"]} training / {s["test"]} held-out samples.

Model: `StandardScaler` → `MLPClassifier` (one hidden layer of 32 ReLU units,
L-BFGS, seed {MODEL_SEED}). The scaler is inside the ONNX graph, so devices send
raw measurements.

## Inputs

One tensor `{INPUT_NAME}`, float32, shape `[batch, 13]`; column order:

| column | feature | unit |
|---|---|---|
{rows}

The data set does not state units; those above are the conventional units of
the original study. "1" means dimensionless (a ratio), "AU" absorbance units.

## Outputs

| name | dtype | shape | meaning |
|---|---|---|---|
| `label` | int64 | `[batch]` | index of the predicted class into {labels} |
| `probabilities` | float32 | `[batch, 3]` | class probabilities (softmax), same order |

## Metrics on the held-out split ({s["test"]} samples)

| model | accuracy |
|---|---|
| fp32 `model.onnx` | {fp32:.4f} |
| int8 `model.int8.onnx` | {int8:.4f} |

Label agreement fp32 vs int8: {s["agreement"]:.4f}; largest probability
difference: {s["maxProbabilityDiff"]:.4f}.

## Files

| file | size |
|---|---|
| `model.onnx` (fp32) | {common.fmt_size(s["sizes"]["model.onnx"])} |
| `model.int8.onnx` (int8) | {common.fmt_size(s["sizes"]["model.int8.onnx"])} ({ratio:.0%} of fp32) |

The model has about 550 weights, so quantization does not shrink it: the
QuantizeLinear/DequantizeLinear nodes and per-channel scales outweigh the
bytes saved. It exists to exercise the int8 path end to end on a model whose
answers are easy to check.

## Quantization

{common.QUANTIZATION_NOTE.format(ops="MatMul/Gemm")} Calibrated over the
training split; the ai.onnx.ml `Scaler` stays float.

## Golden vectors

`golden.json`: three held-out samples per class, outputs computed with
onnxruntime {common.ort.__version__} (Python, one thread) for both files; the
manifest carries one per class for the int8 entry. Tolerance {TOLERANCE}
(absolute, or relative for values above 1).
"""
    common.write_text(out_dir / "card.md", card)
