"""Shared helpers of the model build: deterministic file output, onnxruntime
sessions, static int8 quantization, golden vectors and the unsigned manifest.

Everything written here must be a pure function of the pinned packages and
the fixed seeds: no timestamps, no absolute paths, no dict-order surprises.
"""

from __future__ import annotations

import hashlib
import json
import os
import logging
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

MODELS_DIR = Path(__file__).resolve().parent.parent

# A constant creation time keeps manifests byte-identical between builds.
CREATED_AT = "2026-01-01T00:00:00.000Z"

PRODUCER_NAME = "kafka-edge-models"

DEFAULT_ROLLOUT = {
    "percent": 100,
    "groups": [],
    "probation": {"predictions": 50, "seconds": 60},
    "abort": {"failureRatio": 0.2, "minDevices": 10},
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def relpath(path: Path) -> str:
    """Path relative to models/, for logs and cards (never absolute)."""
    return path.resolve().relative_to(MODELS_DIR).as_posix()


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_json(path: Path, value: Any) -> None:
    """Indented JSON in insertion order (deterministic since Python 3.7)."""
    write_text(path, json.dumps(value, indent=2, allow_nan=False) + "\n")


def stamp_model(model: onnx.ModelProto, doc: str, version: int = 1) -> onnx.ModelProto:
    """Set producer fields to fixed values so the bytes do not depend on
    which converter produced the graph, and drop converter doc strings that
    may carry environment details."""
    model.producer_name = PRODUCER_NAME
    model.producer_version = str(version)
    model.domain = "dev.kafka-edge"
    model.model_version = version
    model.doc_string = doc
    del model.metadata_props[:]
    return model


def save_model(model: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # SerializeToString is deterministic for a given proto; write via bytes so
    # that onnx.save never decides to spill to external data.
    path.write_bytes(model.SerializeToString(deterministic=True))


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    # One thread: the reference numbers must not depend on the scheduling.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, feeds: dict[str, np.ndarray], batch: int = 512) -> dict[str, np.ndarray]:
    """Run a session over a large batch in slices; returns outputs by name."""
    first = next(iter(feeds.values()))
    names = [o.name for o in sess.get_outputs()]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, first.shape[0], batch):
        out = sess.run(names, {k: v[start : start + batch] for k, v in feeds.items()})
        for n, v in zip(names, out):
            parts[n].append(np.asarray(v))
    return {n: np.concatenate(v, axis=0) for n, v in parts.items()}


class ArrayCalibrationReader(CalibrationDataReader):
    """Feeds calibration samples one batch at a time."""

    def __init__(self, input_name: str, samples: np.ndarray, batch: int = 64):
        self._batches = [
            {input_name: samples[i : i + batch]} for i in range(0, samples.shape[0], batch)
        ]
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self._batches):
            return None
        self._next += 1
        return self._batches[self._next - 1]

    def rewind(self) -> None:
        self._next = 0


QUANTIZATION_NOTE = """\
onnxruntime `quantize_static`, QDQ format (QuantizeLinear /
DequantizeLinear pairs around {ops}), per-channel symmetric int8 weights
with `reduce_range` (7-bit weight range), int8 activations calibrated with
min/max.

- QDQ static rather than dynamic quantization: onnxruntime-web (WASM) fuses
  DequantizeLinear → MatMul → QuantizeLinear into an integer `QLinearMatMul`,
  while dynamic quantization runs `DynamicQuantizeLinear` + `MatMulInteger`
  per call, which is slow in WASM.
- `reduce_range`: on x86 CPUs with AVX2 but without VNNI (the build and CI
  machines), onnxruntime's u8×s8 integer kernel sums pairs of products in
  16 bits and saturates with full-range int8 weights. Measured on this
  model family: the fused int8 autoencoder lost 0.15 ROC-AUC to saturation
  while the same graph without fusion did not. 7-bit weights cannot
  saturate, so native x86, ARM and WASM compute the same integers and the
  golden vectors agree across runtimes to about 1e-7."""


def quantize_int8_qdq(
    fp32_model: onnx.ModelProto,
    input_name: str,
    calibration: np.ndarray,
    op_types: Sequence[str] = ("MatMul", "Gemm"),
) -> onnx.ModelProto:
    """Static int8 quantization in QDQ format (QuantizeLinear /
    DequantizeLinear around MatMul/Gemm), per-channel symmetric int8 weights,
    int8 activations calibrated with min/max over `calibration`.

    See QUANTIZATION_NOTE for why these settings.
    """
    # quantize_static logs a generic "consider pre-processing" warning on root.
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="kafka-edge-quant-") as tmp:
        src = Path(tmp) / "fp32.onnx"
        dst = Path(tmp) / "int8.onnx"
        src.write_bytes(fp32_model.SerializeToString(deterministic=True))
        quantize_static(
            model_input=str(src),
            model_output=str(dst),
            calibration_data_reader=ArrayCalibrationReader(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types),
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        return onnx.load(str(dst))


def file_entry(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    return {"path": name, "size": path.stat().st_size, "sha256": sha256_file(path)}


def f32(value: Any) -> float:
    """The shortest decimal that reads back as the same float32 (JSON stays
    short, and Float32Array.from() of the parsed number is exact)."""
    return float(str(np.float32(value)))


def to_json_list(value: np.ndarray) -> list[Any]:
    """numpy -> nested lists of plain Python numbers."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        flat = [f32(v) for v in arr.astype(np.float32).ravel()]
        return np.array(flat, dtype=object).reshape(arr.shape).tolist()
    return arr.astype(np.int64).tolist()


def write_golden(
    folder: Path,
    *,
    name: str,
    tolerance: float,
    inputs: list[dict[str, Any]],
    models: dict[str, dict[str, Any]],
) -> None:
    """folder/golden.json: reference outputs per model file (key: its path in
    the folder; value: its format, vectors and optionally its own tolerance)."""
    write_json(folder / "golden.json", {"name": name, "tolerance": tolerance, "inputs": inputs, "models": models})


def write_manifest(
    folder: Path,
    *,
    name: str,
    fmt: str,
    entry: str,
    files: Iterable[str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    tolerance: float,
    vectors: list[dict[str, Any]],
    version: int = 1,
) -> None:
    """folder/manifest.json, unsigned (scripts/sign-manifests.ts adds
    `signature`). `files` are paths in the same folder: the manifest hashes
    the files that sit beside it."""
    write_json(
        folder / "manifest.json",
        {
            "name": name,
            "version": version,
            "format": fmt,
            "entry": entry,
            "files": [file_entry(folder, f) for f in files],
            "inputs": inputs,
            "outputs": outputs,
            "golden": {"tolerance": tolerance, "vectors": vectors},
            "rollout": DEFAULT_ROLLOUT,
            "createdAt": CREATED_AT,
            "expiresAt": None,
        },
    )


def fmt_size(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def require_single_thread_blas() -> None:
    """Training results depend on the BLAS summation order; build.sh pins
    every BLAS to one thread. Refuse to run otherwise."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var) != "1":
            raise SystemExit(f"{var}=1 must be set (run through models/build/build.sh)")
