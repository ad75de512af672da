"""Writes the autoencoder as a TF.js LayersModel (model.json + one weight
shard) without TensorFlow: the format is plain JSON (a Keras functional model
config) plus little-endian weight bytes listed in `weightsManifest`.

Weights are stored as uint8 with per-tensor affine quantization; TF.js
dequantizes on load as `value = q * scale + min`.

TF.js has no Subtract layer, so the residual is `Add([window, Rescaling(-1)(
reconstruction)])`; the score is `Multiply` (square), `Reshape` to
[256, 1], `GlobalAveragePooling1D` (mean) and a final `Rescaling` by the
healthy reference error, exactly the ONNX head.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vibration_autoencoder import Layer

SHARD = "group1-shard1of1.bin"
KERAS_VERSION = "2.15.0"


def quantize_uint8(w: np.ndarray) -> tuple[np.ndarray, float, float]:
    lo, hi = float(np.min(w)), float(np.max(w))
    scale = (hi - lo) / 255.0
    if scale == 0.0:
        return np.zeros(w.shape, np.uint8), lo, 0.0
    q = np.clip(np.round((w.astype(np.float64) - lo) / scale), 0, 255).astype(np.uint8)
    return q, lo, scale


def dequantize_uint8(q: np.ndarray, lo: float, scale: float) -> np.ndarray:
    # Same arithmetic as TF.js: double-precision q * scale + min, stored as float32.
    return (q.astype(np.float64) * scale + lo).astype(np.float32)


def _dense(name: str, units: int, activation: str, inbound: str) -> dict[str, Any]:
    return {
        "class_name": "Dense",
        "name": name,
        "config": {
            "name": name,
            "trainable": False,
            "dtype": "float32",
            "units": units,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": {"class_name": "Zeros", "config": {}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        },
        "inbound_nodes": [[[inbound, 0, 0, {}]]],
    }


def _layer(cls: str, name: str, inbound: list[str], **config: Any) -> dict[str, Any]:
    return {
        "class_name": cls,
        "name": name,
        "config": {"name": name, "trainable": False, "dtype": "float32", **config},
        "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]],
    }


def topology(layers: list[Layer], window: int, input_name: str, score_scale: float) -> dict[str, Any]:
    config_layers: list[dict[str, Any]] = [
        {
            "class_name": "InputLayer",
            "name": input_name,
            "config": {"batch_input_shape": [None, window], "dtype": "float32", "sparse": False, "name": input_name},
            "inbound_nodes": [],
        }
    ]
    prev = input_name
    for i, layer in enumerate(layers):
        name = "reconstruction" if i == len(layers) - 1 else layer.name
        config_layers.append(_dense(name, layer.w.shape[1], layer.activation, prev))
        prev = name
    config_layers += [
        _layer("Rescaling", "negated_reconstruction", ["reconstruction"], scale=-1.0, offset=0.0),
        _layer("Add", "residual", [input_name, "negated_reconstruction"]),
        _layer("Multiply", "squared_residual", ["residual", "residual"]),
        _layer("Reshape", "squared_steps", ["squared_residual"], target_shape=[window, 1]),
        _layer("GlobalAveragePooling1D", "mean_squared_error", ["squared_steps"], data_format="channels_last"),
        _layer("Rescaling", "anomaly_score", ["mean_squared_error"], scale=score_scale, offset=0.0),
    ]
    return {
        "class_name": "Functional",
        "config": {
            "name": "vibration_autoencoder",
            "layers": config_layers,
            "input_layers": [[input_name, 0, 0]],
            "output_layers": [["anomaly_score", 0, 0], ["reconstruction", 0, 0]],
        },
        "keras_version": KERAS_VERSION,
        "backend": "tensorflow",
    }


def write(out_dir: Path, layers: list[Layer], window: int, input_name: str, score_scale: float) -> list[Layer]:
    """Writes model.json and the shard; returns the layers with the
    dequantized weights TF.js will compute with."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_meta = []
    blobs = []
    dequantized = []
    for i, layer in enumerate(layers):
        name = "reconstruction" if i == len(layers) - 1 else layer.name
        deq = {}
        for suffix, value in (("kernel", layer.w), ("bias", layer.b)):
            q, lo, scale = quantize_uint8(value)
            weights_meta.append(
                {
                    "name": f"{name}/{suffix}",
                    "shape": list(value.shape),
                    "dtype": "float32",
                    "quantization": {"dtype": "uint8", "min": lo, "scale": scale},
                }
            )
            blobs.append(q.tobytes(order="C"))
            deq[suffix] = dequantize_uint8(q, lo, scale)
        dequantized.append(Layer(layer.name, deq["kernel"], deq["bias"], layer.activation))
    (out_dir / SHARD).write_bytes(b"".join(blobs))
    model_json = {
        "format": "layers-model",
        "generatedBy": "kafka-edge models/build/vibration_tfjs.py",
        "convertedBy": None,
        "modelTopology": topology(layers, window, input_name, score_scale),
        "weightsManifest": [{"paths": [SHARD], "weights": weights_meta}],
    }
    with open(out_dir / "model.json", "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(model_json, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return dequantized
