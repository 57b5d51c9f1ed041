"""Populations: N models (seeds or hyperparameters) trained at once as one vmapped program.

A population is an ordinary `TrainState` whose leaves carry a leading member axis `[P, ...]`;
`fit(..., population=True)` vmaps the step over it. Per-member hyperparameters live in
`state.hparams` (loss keywords) or in an `optax.inject_hyperparams` optimizer state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from genjax.train.state import TrainState


def stack(trees: Sequence[Any]) -> Any:
    """`[tree_0, ..., tree_{P-1}] -> tree` with leaves stacked on a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any) -> list[Any]:
    """The inverse of `stack`."""
    size = jax.tree.leaves(tree)[0].shape[0]
    return [jax.tree.map(lambda leaf, i=i: leaf[i], tree) for i in range(size)]


def member(tree: Any, index: int) -> Any:
    """Member `index` of a stacked population."""
    return jax.tree.map(lambda leaf: leaf[index], tree)


def init_population(
    init_params: Callable[[jax.Array], Any],
    tx: optax.GradientTransformation,
    keys: jax.Array,
    **hparams: Sequence[float],
) -> TrainState:
    """A stacked `TrainState` with member `i` initialized from `keys[i]`.

    `hparams` maps a loss keyword to one value per member, e.g. `beta=[0.5, 1, 4]`;
    scalars are broadcast to every member.
    """
    size = keys.shape[0]
    values = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (size,)) for k, v in hparams.items()}

    def create(key, member_hparams):
        return TrainState.create(init_params(key), tx, **member_hparams)

    return jax.vmap(create)(keys, values)
