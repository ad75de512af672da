"""ONNX graphs of the vibration autoencoder.

The core graph maps `window` to `reconstruction`; `add_score_head` appends
the anomaly score (mean squared reconstruction error) computed from the
float input. The head is added after quantization, so the score always
compares the raw float window with the reconstruction and the input's
quantization never hides an impulse from the score.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vibration_autoencoder import Layer

INPUT = "window"
RECONSTRUCTION = "reconstruction"
SCORE = "anomaly_score"
OPSET = 17


def core_model(layers: list[Layer], window: int) -> onnx.ModelProto:
    nodes = []
    inits = []
    h = INPUT
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        w_name, b_name = f"{layer.name}.weight", f"{layer.name}.bias"
        inits.append(numpy_helper.from_array(layer.w.astype(np.float32), w_name))
        inits.append(numpy_helper.from_array(layer.b.astype(np.float32), b_name))
        mm, z = f"{layer.name}.matmul", f"{layer.name}.preact"
        nodes.append(helper.make_node("MatMul", [h, w_name], [mm], name=f"{layer.name}/MatMul"))
        out = RECONSTRUCTION if last else (f"{layer.name}.out")
        if layer.activation == "relu":
            nodes.append(helper.make_node("Add", [mm, b_name], [z], name=f"{layer.name}/Add"))
            nodes.append(helper.make_node("Relu", [z], [out], name=f"{layer.name}/Relu"))
        else:
            nodes.append(helper.make_node("Add", [mm, b_name], [out], name=f"{layer.name}/Add"))
        h = out
    graph = helper.make_graph(
        nodes,
        "vibration_autoencoder",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", window])],
        [helper.make_tensor_value_info(RECONSTRUCTION, TensorProto.FLOAT, ["batch", window])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


def add_score_head(model: onnx.ModelProto, score_scale: float) -> onnx.ModelProto:
    """Appends anomaly_score = mean((window - reconstruction)^2, axis=1) *
    score_scale, where score_scale = 1 / (median error of healthy windows)."""
    g = model.graph
    g.initializer.append(numpy_helper.from_array(np.array(score_scale, dtype=np.float32), "score.scale"))
    g.node.extend(
        [
            helper.make_node("Sub", [INPUT, RECONSTRUCTION], ["score.residual"], name="score/Sub"),
            helper.make_node("Mul", ["score.residual", "score.residual"], ["score.squared"], name="score/Mul"),
            helper.make_node("ReduceMean", ["score.squared"], ["score.mse"], name="score/ReduceMean", axes=[1], keepdims=0),
            helper.make_node("Mul", ["score.mse", "score.scale"], [SCORE], name="score/Scale"),
        ]
    )
    recon = [o for o in g.output if o.name == RECONSTRUCTION]
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info(SCORE, TensorProto.FLOAT, ["batch"])] + recon)
    return model
