"""A dense autoencoder trained with plain numpy (Adam, MSE), so the build
needs no deep-learning framework and every step is visible and seeded.

Layers are (W [in, out], b [out], activation); y = act(x @ W + b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARCHITECTURE = ((256, 128, "relu"), (128, 32, "linear"), (32, 128, "relu"), (128, 256, "linear"))


@dataclass
class Layer:
    name: str
    w: np.ndarray  # float32 [in, out]
    b: np.ndarray  # float32 [out]
    activation: str  # "relu" | "linear"


LAYER_NAMES = ("encoder_1", "encoder_2", "decoder_1", "decoder_2")


def init(seed: int) -> list[Layer]:
    rng = np.random.default_rng(seed)
    layers = []
    for name, (n_in, n_out, act) in zip(LAYER_NAMES, ARCHITECTURE):
        limit = np.sqrt(6.0 / n_in) if act == "relu" else np.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)
        layers.append(Layer(name, w, np.zeros(n_out, np.float32), act))
    return layers


def forward(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    h = x
    for layer in layers:
        h = h @ layer.w + layer.b
        if layer.activation == "relu":
            h = np.maximum(h, 0.0)
    return h


def score(layers: list[Layer], x: np.ndarray) -> np.ndarray:
    """Anomaly score: mean squared reconstruction error per window."""
    return np.mean((x - forward(layers, x)) ** 2, axis=1)


def train(
    x: np.ndarray, *, seed: int, epochs: int, batch: int = 128, lr: float = 1e-3, log_every: int = 10
) -> tuple[list[Layer], list[float]]:
    """Trains on x (float32 [n, 256], already normalized); returns layers and
    the per-epoch training loss."""
    layers = init(seed)
    rng = np.random.default_rng(seed + 1)
    params = [p for layer in layers for p in (layer.w, layer.b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    history: list[float] = []
    for epoch in range(epochs):
        order = rng.permutation(x.shape[0])
        total = 0.0
        for start in range(0, x.shape[0], batch):
            xb = x[order[start : start + batch]]
            # Forward, keeping pre-activations for the backward pass.
            acts = [xb]
            pre = []
            h = xb
            for layer in layers:
                z = h @ layer.w + layer.b
                pre.append(z)
                h = np.maximum(z, 0.0) if layer.activation == "relu" else z
                acts.append(h)
            diff = h - xb
            total += float(np.sum(diff**2))
            grad = (2.0 / diff.size) * diff
            grads: list[np.ndarray] = []
            for i in range(len(layers) - 1, -1, -1):
                if layers[i].activation == "relu":
                    grad = grad * (pre[i] > 0)
                grads.append(np.sum(grad, axis=0))  # bias
                grads.append(acts[i].T @ grad)  # weight
                grad = grad @ layers[i].w.T
            grads.reverse()  # -> [w0, b0, w1, b1, ...]
            step += 1
            lr_t = lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            for p, g, mi, vi in zip(params, grads, m, v):
                mi *= beta1
                mi += (1 - beta1) * g
                vi *= beta2
                vi += (1 - beta2) * g * g
                p -= (lr_t * mi / (np.sqrt(vi) + eps)).astype(np.float32)
        history.append(total / x.size)
        if log_every and (epoch + 1) % log_every == 0:
            print(f"[vibration-anomaly] epoch {epoch + 1}/{epochs} loss {history[-1]:.5f}", flush=True)
    return layers, history


def fold_input_scale(layers: list[Layer], scale: float) -> list[Layer]:
    """The network was trained on x / scale. Folding the scale into the first
    and last layers gives a network over raw units (g) whose reconstruction
    is in g too, so the exported graph needs no preprocessing op."""
    s = np.float32(scale)
    out = [Layer(layer.name, layer.w.copy(), layer.b.copy(), layer.activation) for layer in layers]
    out[0].w = (out[0].w / s).astype(np.float32)
    out[-1].w = (out[-1].w * s).astype(np.float32)
    out[-1].b = (out[-1].b * s).astype(np.float32)
    return out
