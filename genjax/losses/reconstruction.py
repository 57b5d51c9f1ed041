"""Reconstruction losses for ONE example (vmap over the batch), summed over its features.

- `bernoulli_nll(logits, x)`: −log p(x | logits) for x in [0, 1] (binary, or grey levels
  read as probabilities), `−Σ x log σ(l) + (1 − x) log(1 − σ(l))`, computed stably from the
  logits as `Σ max(l, 0) − l x + log(1 + e^{−|l|})`.
- `squared_error(x_hat, x)`: `½ Σ (x̂ − x)²`, the Gaussian negative log-likelihood with unit
  variance up to a constant, for real-valued inputs and a linear output layer.
"""

from __future__ import annotations

import jax
import optax


def bernoulli_nll(logits: jax.Array, x: jax.Array) -> jax.Array:
    """`[...]`, `[...]` -> scalar: the Bernoulli negative log-likelihood in nats."""
    return optax.sigmoid_binary_cross_entropy(logits, x).sum()


def squared_error(x_hat: jax.Array, x: jax.Array) -> jax.Array:
    """`[...]`, `[...]` -> scalar: `½ Σ (x̂ − x)²`."""
    return optax.l2_loss(x_hat, x).sum()


RECONSTRUCTION_LOSSES = {"bernoulli": bernoulli_nll, "gaussian": squared_error}


def reconstruction_loss(name: str):
    """The per-example loss for a decoder likelihood name: "bernoulli" or "gaussian"."""
    if name not in RECONSTRUCTION_LOSSES:
        raise ValueError(
            f"unknown likelihood {name!r}; choose from {sorted(RECONSTRUCTION_LOSSES)}"
        )
    return RECONSTRUCTION_LOSSES[name]
