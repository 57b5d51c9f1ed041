"""Sequence data `[N, T, F]`: generated noisy sine / sawtooth series, and images read row by
row (a digit as 8 steps of 8 values, MNIST as 28 steps of 28, CIFAR-10 as 32 steps of 96).

    ds = genjax.data.load("sines")                        # x_train [1600, 50, 1], y = shape
    rows = as_row_sequences(genjax.data.load("digits"))   # x_train [N, 8, 8]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from genjax.data.dataset import Dataset, split
from genjax.data.registry import register

SHAPES = ("sine", "sawtooth")


def generate_series(
    rng: np.random.Generator, num_series: int, length: int, *, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """`(x [N, T, 1], shape [N])`: half sines, half sawtooth waves, noise added.

    Series `n` is `A_n s(t / P_n + φ_n) + σ ε_{n,t}` for `t = 0 … T−1`, with `s(u) =
    sin(2πu)` (label 0) or the sawtooth `2 (u − ⌊u⌋) − 1` (label 1), amplitude
    `A ~ U[0.5, 1]`, period `P ~ U[10, 25]` steps, phase `φ ~ U[0, 1)` and `ε ~ N(0, 1)`.
    """
    shape = rng.permutation(np.arange(num_series) % len(SHAPES)).astype(np.int32)  # [N]
    amplitude = rng.uniform(0.5, 1.0, (num_series, 1))
    period = rng.uniform(10.0, 25.0, (num_series, 1))
    phase = rng.uniform(0.0, 1.0, (num_series, 1))
    u = np.arange(length) / period + phase  # [N, T]
    wave = np.where(shape[:, None] == 0, np.sin(2 * np.pi * u), 2 * (u - np.floor(u)) - 1)
    x = amplitude * wave + noise * rng.standard_normal((num_series, length))
    return x[..., None].astype(np.float32), shape


@register("sines")
def sines(
    *,
    seed: int = 0,
    num_series: int = 2000,
    length: int = 50,
    noise: float = 0.05,
    test_fraction: float = 0.2,
    **_,
) -> Dataset:
    """Noisy sine and sawtooth series `[N, length, 1]`, labelled by shape (0 sine, 1 sawtooth).

    Generated from `seed` (which also fixes the split); see `generate_series`.
    """
    if num_series < 2 or length < 1:
        raise ValueError(f"sines needs num_series >= 2 and length >= 1, got {num_series}, {length}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    x, y = generate_series(np.random.default_rng(seed), num_series, length, noise=noise)
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset("sines", x_tr, y_tr, x_te, y_te, kind="real", num_classes=len(SHAPES))


def as_row_sequences(ds: Dataset) -> Dataset:
    """An image dataset `[N, H·W·C]` read row by row: `[N, H, W·C]`, one step per image row.

    The flattening is row-major, so `x.reshape(N, -1)` gives the images back; `image_shape`
    is kept for drawing them.
    """
    if ds.image_shape is None:
        raise ValueError(f"dataset {ds.name!r} is not an image dataset; cannot read it by rows")
    height, width, channels = ds.image_shape

    def rows(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), height, width * channels)  # [N, H, W·C]

    return dataclasses.replace(
        ds, name=f"{ds.name}_rows", x_train=rows(ds.x_train), x_test=rows(ds.x_test)
    )
