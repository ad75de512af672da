"""ONNX graph of a BERT sentence encoder (all-MiniLM-L6-v2) written directly
from its safetensors weights: embeddings, post-LayerNorm encoder layers,
masked mean pooling and L2 normalization, as sentence-transformers computes
them (modules Transformer -> Pooling(mean) -> Normalize). No torch needed.

Also a float64 numpy forward pass of the same model, the reference the ONNX
graph is checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"


@dataclass(frozen=True)
class BertConfig:
    hidden: int
    heads: int
    layers: int
    intermediate: int
    eps: float

    @staticmethod
    def from_json(config: dict[str, Any]) -> "BertConfig":
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise SystemExit("minilm: only absolute-position BERT with exact gelu is supported")
        return BertConfig(
            hidden=config["hidden_size"],
            heads=config["num_attention_heads"],
            layers=config["num_hidden_layers"],
            intermediate=config["intermediate_size"],
            eps=float(config["layer_norm_eps"]),
        )


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


def quantize_rows_int8(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: table ~= q * scale[:, None]."""
    scale = (np.max(np.abs(table), axis=1) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    q = np.clip(np.round(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def build_graph(w: dict[str, np.ndarray], cfg: BertConfig, int8_word_embeddings: bool = False) -> onnx.ModelProto:
    """The fp32 graph; with int8_word_embeddings the word-embedding table is
    stored as int8 rows with one scale each, and only the gathered rows are
    dequantized (Gather, then Cast and Mul), so a call never dequantizes the
    whole 30522 x 384 table."""
    b = _Builder()
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    head_dim = cfg.hidden // cfg.heads

    # Shared constants.
    b.const("c.zero", np.array(0, np.int64))
    b.const("c.one", np.array(1, np.int64))
    b.const("c.axes1", np.array([1], np.int64))
    b.const("c.axes12", np.array([1, 2], np.int64))
    b.const("c.heads_shape", np.array([0, 0, cfg.heads, head_dim], np.int64))
    b.const("c.merge_shape", np.array([0, 0, cfg.hidden], np.int64))
    b.const("c.scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    b.const("c.half", np.array(0.5, np.float32))
    b.const("c.onef", np.array(1.0, np.float32))
    b.const("c.sqrt2", np.array(math.sqrt(2.0), np.float32))
    b.const("c.mask_min", np.array(np.finfo(np.float32).min, np.float32))
    b.const("c.eps_pool", np.array(1e-9, np.float32))

    # Embeddings.
    if int8_word_embeddings:
        q, scale = quantize_rows_int8(f32(w["embeddings.word_embeddings.weight"]))
        rows = b.op("Gather", [b.const("embeddings.word.int8", q), "input_ids"], "emb.word.int8")
        row_scale = b.op("Gather", [b.const("embeddings.word.scale", scale), "input_ids"], "emb.word.scale")
        row_scale = b.op("Unsqueeze", [row_scale, b.const("c.axes_last_emb", np.array([2], np.int64))], "emb.word.scale3")
        word = b.op("Mul", [b.op("Cast", [rows], "emb.word.float", to=TensorProto.FLOAT), row_scale], "emb.word")
    else:
        word = b.op("Gather", [b.const("embeddings.word", f32(w["embeddings.word_embeddings.weight"])), "input_ids"], "emb.word")
    shape = b.op("Shape", ["input_ids"], "emb.shape")
    seq_len = b.op("Gather", [shape, "c.one"], "emb.seq_len", axis=0)
    positions = b.op("Range", ["c.zero", seq_len, "c.one"], "emb.positions")
    pos = b.op("Gather", [b.const("embeddings.position", f32(w["embeddings.position_embeddings.weight"])), positions], "emb.pos")
    typ = b.op("Gather", [b.const("embeddings.token_type", f32(w["embeddings.token_type_embeddings.weight"])), "token_type_ids"], "emb.type")
    summed = b.op("Add", [b.op("Add", [word, pos], "emb.word_pos"), typ], "emb.sum")

    def layer_norm(x: str, prefix: str, name: str) -> str:
        return b.op(
            "LayerNormalization",
            [x, b.const(f"{prefix}.gamma", f32(w[f"{prefix}.weight"])), b.const(f"{prefix}.beta", f32(w[f"{prefix}.bias"]))],
            name,
            axis=-1,
            epsilon=cfg.eps,
        )

    def linear(x: str, prefix: str, name: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        mm = b.op("MatMul", [x, b.const(f"{prefix}.weight_t", f32(w[f"{prefix}.weight"].T))], f"{name}.matmul")
        return b.op("Add", [mm, b.const(f"{prefix}.bias", f32(w[f"{prefix}.bias"]))], name)

    h = layer_norm(summed, "embeddings.LayerNorm", "emb.out")

    # Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32 min elsewhere.
    mask_f = b.op("Cast", ["attention_mask"], "mask.float", to=TensorProto.FLOAT)
    inverted = b.op("Sub", ["c.onef", mask_f], "mask.inverted")
    mask_add = b.op("Unsqueeze", [b.op("Mul", [inverted, "c.mask_min"], "mask.scaled"), "c.axes12"], "mask.additive")

    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        n = f"l{i}"

        def heads(x: str, tag: str) -> str:
            r = b.op("Reshape", [x, "c.heads_shape"], f"{n}.{tag}.split")
            return b.op("Transpose", [r], f"{n}.{tag}.heads", perm=[0, 2, 1, 3])

        q = heads(linear(h, f"{p}.attention.self.query", f"{n}.q"), "q")
        k = heads(linear(h, f"{p}.attention.self.key", f"{n}.k"), "k")
        v = heads(linear(h, f"{p}.attention.self.value", f"{n}.v"), "v")
        kt = b.op("Transpose", [k], f"{n}.k.t", perm=[0, 1, 3, 2])
        scores = b.op("Mul", [b.op("MatMul", [q, kt], f"{n}.qk"), "c.scale"], f"{n}.scores")
        probs = b.op("Softmax", [b.op("Add", [scores, mask_add], f"{n}.scores.masked")], f"{n}.probs", axis=-1)
        ctx = b.op("Transpose", [b.op("MatMul", [probs, v], f"{n}.ctx.heads")], f"{n}.ctx.t", perm=[0, 2, 1, 3])
        ctx = b.op("Reshape", [ctx, "c.merge_shape"], f"{n}.ctx")
        attn = linear(ctx, f"{p}.attention.output.dense", f"{n}.attn.dense")
        h_attn = layer_norm(b.op("Add", [attn, h], f"{n}.attn.residual"), f"{p}.attention.output.LayerNorm", f"{n}.attn.out")
        inter = linear(h_attn, f"{p}.intermediate.dense", f"{n}.ffn.in")
        # Exact gelu: 0.5 * x * (1 + erf(x / sqrt(2))).
        erf = b.op("Erf", [b.op("Div", [inter, "c.sqrt2"], f"{n}.gelu.scaled")], f"{n}.gelu.erf")
        gelu = b.op("Mul", [b.op("Mul", [inter, "c.half"], f"{n}.gelu.half"), b.op("Add", [erf, "c.onef"], f"{n}.gelu.one")], f"{n}.gelu")
        out = linear(gelu, f"{p}.output.dense", f"{n}.ffn.out")
        h = layer_norm(b.op("Add", [out, h_attn], f"{n}.ffn.residual"), f"{p}.output.LayerNorm", f"{n}.out")

    # Masked mean pooling, then L2 normalization.
    mask3 = b.op("Unsqueeze", [mask_f, b.const("c.axes_last", np.array([2], np.int64))], "pool.mask")
    summed_tokens = b.op("ReduceSum", [b.op("Mul", [h, mask3], "pool.masked"), "c.axes1"], "pool.sum", keepdims=0)
    counts = b.op("ReduceSum", [mask3, "c.axes1"], "pool.count_raw", keepdims=0)
    counts = b.op("Max", [counts, "c.eps_pool"], "pool.count")
    mean = b.op("Div", [summed_tokens, counts], "pool.mean")
    norm = b.op("ReduceL2", [mean], "norm.l2", axes=[1], keepdims=1)
    norm = b.op("Max", [norm, b.const("c.eps_norm", np.array(1e-12, np.float32))], "norm.clamped")
    b.nodes.append(helper.make_node("Div", [mean, norm], [OUTPUT], name="norm.out"))

    graph = helper.make_graph(
        b.nodes,
        "all_minilm_l6_v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"]) for name in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", cfg.hidden])],
        initializer=b.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


def reference(w: dict[str, np.ndarray], cfg: BertConfig, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
    """float64 numpy forward pass (one sentence batch), for checking the graph."""
    from scipy.special import erf

    g = {k: v.astype(np.float64) for k, v in w.items() if v.dtype.kind == "f"}

    def ln(x: np.ndarray, p: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg.eps) * g[f"{p}.weight"] + g[f"{p}.bias"]

    def lin(x: np.ndarray, p: str) -> np.ndarray:
        return x @ g[f"{p}.weight"].T + g[f"{p}.bias"]

    n, seq = ids.shape
    hd = cfg.hidden // cfg.heads
    x = g["embeddings.word_embeddings.weight"][ids] + g["embeddings.position_embeddings.weight"][:seq] + g["embeddings.token_type_embeddings.weight"][types]
    x = ln(x, "embeddings.LayerNorm")
    add = (1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        split = lambda t: t.reshape(n, seq, cfg.heads, hd).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = (split(lin(x, f"{p}.attention.self.{s}")) for s in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + add
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n, seq, cfg.hidden)
        x = ln(lin(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        inter = lin(x, f"{p}.intermediate.dense")
        inter = 0.5 * inter * (1.0 + erf(inter / math.sqrt(2.0)))
        x = ln(lin(inter, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    m = mask[:, :, None].astype(np.float64)
    mean = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
