"""Synthetic accelerometer windows of a rolling-element bearing.

Healthy: shaft harmonics (1x, 2x, 3x running speed), a structural tone and
broadband sensor noise. Faulty: the same plus a train of impacts at a bearing
defect frequency, each impact ringing a structural resonance (a decaying
sinusoid), as a spalled race does. Outer-race faults repeat at BPFO with
constant strength; inner-race faults repeat at BPFI and are amplitude-
modulated by shaft rotation because the defect passes through the load zone.

Geometry factors are those of a 6205-2RS deep-groove ball bearing (the one of
the Case Western Reserve bearing data set), so the numbers look familiar.
Everything is drawn from numpy's PCG64 with explicit seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 5120
WINDOW = 256  # 50 ms at 5120 Hz
BPFO_FACTOR = 3.5848  # outer-race defect frequency / shaft frequency
BPFI_FACTOR = 5.4152  # inner-race defect frequency / shaft frequency

SHAFT_HZ = (20.0, 50.0)  # 1200-3000 rpm
NOISE_G = (0.02, 0.04)  # sensor noise standard deviation, g
IMPACT_G = (0.1, 1.0)  # peak acceleration of one impact, g
RESONANCE_HZ = (1400.0, 2200.0)
DECAY_S = (0.8e-3, 2.0e-3)


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # float32 [n, WINDOW], acceleration in g
    faulty: np.ndarray  # int64 [n], 1 = bearing defect present
    shaft_hz: np.ndarray  # float64 [n]


def _healthy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(WINDOW) / SAMPLE_RATE_HZ
    shaft = rng.uniform(*SHAFT_HZ, size=n)
    x = np.zeros((n, WINDOW))
    for k, amp in ((1, (0.3, 0.6)), (2, (0.05, 0.2)), (3, (0.02, 0.1))):
        a = rng.uniform(*amp, size=n)[:, None]
        phase = rng.uniform(0, 2 * np.pi, size=n)[:, None]
        x += a * np.sin(2 * np.pi * k * shaft[:, None] * t + phase)
    # A structural tone (e.g. a fan or gear mesh) at a fixed frequency per machine.
    tone_hz = rng.uniform(300.0, 600.0, size=n)[:, None]
    tone_a = rng.uniform(0.01, 0.05, size=n)[:, None]
    x += tone_a * np.sin(2 * np.pi * tone_hz * t + rng.uniform(0, 2 * np.pi, size=n)[:, None])
    x += rng.normal(size=(n, WINDOW)) * rng.uniform(*NOISE_G, size=n)[:, None]
    return x, shaft


def _impacts(rng: np.random.Generator, shaft: np.ndarray) -> np.ndarray:
    n = shaft.shape[0]
    t = np.arange(WINDOW) / SAMPLE_RATE_HZ
    out = np.zeros((n, WINDOW))
    inner = rng.random(n) < 0.5
    peak = np.exp(rng.uniform(np.log(IMPACT_G[0]), np.log(IMPACT_G[1]), size=n))
    carrier = rng.uniform(*RESONANCE_HZ, size=n)
    decay = rng.uniform(*DECAY_S, size=n)
    for i in range(n):
        f_defect = shaft[i] * (BPFI_FACTOR if inner[i] else BPFO_FACTOR)
        period = 1.0 / f_defect
        start = rng.uniform(-period, 0.0)
        times = np.arange(start, t[-1], period)
        times = times + rng.normal(scale=0.01 * period, size=times.shape)  # slip
        shaft_phase = rng.uniform(0, 2 * np.pi)
        for t0 in times:
            dt = t - t0
            mask = dt >= 0
            a = peak[i] * rng.uniform(0.7, 1.0)
            if inner[i]:
                a *= 0.6 + 0.4 * np.cos(2 * np.pi * shaft[i] * t0 + shaft_phase)
            out[i, mask] += a * np.exp(-dt[mask] / decay[i]) * np.sin(2 * np.pi * carrier[i] * dt[mask])
    return out


def generate(seed: int, n_healthy: int, n_faulty: int) -> Windows:
    rng = np.random.default_rng(seed)
    xh, sh = _healthy(rng, n_healthy)
    xf, sf = _healthy(rng, n_faulty)
    xf = xf + _impacts(rng, sf)
    x = np.concatenate([xh, xf]).astype(np.float32)
    faulty = np.concatenate([np.zeros(n_healthy, np.int64), np.ones(n_faulty, np.int64)])
    shaft = np.concatenate([sh, sf])
    order = rng.permutation(x.shape[0])
    return Windows(x=x[order], faulty=faulty[order], shaft_hz=shaft[order])
