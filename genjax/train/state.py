"""The training state: a plain NamedTuple pytree, so jit, vmap, scan and orbax see through it."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import optax


class TrainState(NamedTuple):
    """`step` (int32 scalar), model `params`, optimizer state, and per-model `hparams`.

    `hparams` is a dict of scalars passed to the loss as keyword arguments (e.g.
    `{"beta": 4.0}`); it lives in the state so that a vmapped population can give every
    member its own values. It is empty for a single model with fixed hyperparameters.
    """

    step: jnp.ndarray
    params: Any
    opt_state: Any
    hparams: dict = {}

    @classmethod
    def create(cls, params: Any, tx: optax.GradientTransformation, **hparams) -> TrainState:
        hparams = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
        return cls(jnp.zeros((), jnp.int32), params, tx.init(params), hparams)
