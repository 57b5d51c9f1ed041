"""Scores of predicted class probabilities against labels."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.jit
def accuracy(proba: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of examples whose most probable class is the label: `[N, C], [N] -> []`."""
    return jnp.mean(jnp.argmax(proba, axis=-1) == jnp.asarray(y))


@jax.jit
def log_loss(proba: jax.Array, y: jax.Array) -> jax.Array:
    """Mean negative log-probability of the label, −(1/N) Σᵢ log p(yᵢ | xᵢ): `[N, C] -> []`.

    Probabilities are clipped to [ε, 1] with ε the float32 resolution (as
    `sklearn.metrics.log_loss` does), so one overconfident mistake costs at most −log ε ≈ 16.
    """
    p = jnp.take_along_axis(proba, jnp.asarray(y)[:, None], axis=-1)[:, 0]
    return -jnp.mean(jnp.log(jnp.clip(p, jnp.finfo(jnp.float32).eps, 1.0)))
