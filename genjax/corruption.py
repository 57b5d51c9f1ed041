"""Input corruption for denoising autoencoders (applied to the encoder's input only).

- `gaussian_noise`: `x̃ = x + σ ε`, `ε ~ N(0, I)`.
- `dropout_noise`: `x̃ = x ⊙ m / (1 − p)`, `m_i ~ Bernoulli(1 − p)`: each input is zeroed
  with probability `p` and the survivors rescaled so that `E[x̃] = x` (inverted dropout,
  as a dropout layer on the input does in training).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp


def gaussian_noise(key: jax.Array, x: jax.Array, *, stddev: float) -> jax.Array:
    return x + stddev * jax.random.normal(key, x.shape, x.dtype)


def dropout_noise(key: jax.Array, x: jax.Array, *, rate: float) -> jax.Array:
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)


def make_corruption(name: str, level: float) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """`corrupt(key, x)` for `name` in {"gaussian", "dropout"}; `level` is σ or the rate."""
    if name == "gaussian":
        if level < 0:
            raise ValueError(f"noise stddev must be >= 0, got {level}")
        return partial(gaussian_noise, stddev=level)
    if name == "dropout":
        if not 0 <= level < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {level}")
        return partial(dropout_noise, rate=level)
    raise ValueError(f"unknown noise {name!r}; choose from dropout, gaussian")
