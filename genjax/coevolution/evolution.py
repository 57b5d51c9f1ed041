"""The evolutionary operators of one cell: tournament selection, Gaussian mutation of the
learning rate, and the (1+1)-ES on the generator mixture weights.

All operate on one cell (the caller vmaps over the grid) and are pure functions of an
explicit key.

- Selection (minimizing a loss-valued fitness `f [K]` over the neighbourhood's `K`
  individuals, slot 0 being the cell's own): a tournament draws `t` distinct slots
  uniformly and picks the one of lowest `f`; the cell's individual is replaced by the
  winner only if the winner is strictly better (`f_w < f_0`), so a cell never loses an
  individual that beats its whole tournament, and with `t = K` every cell holds its
  neighbourhood's best.
- Mutation: with probability `p`, `η ← max(η + σ ε, η_min)`, `ε ~ N(0, 1)`, on the learning
  rate kept in an `optax.inject_hyperparams` optimizer state; parameters and moments are
  untouched.
- Mixture (1+1)-ES (Lipizzaner): weights `w` on the simplex over the neighbourhood's
  generators; the offspring `w' = |w + σ ε| / Σ|w + σ ε|` replaces `w` when its mixture
  scores at least as high. Both mixtures are scored on the same generated samples: sample
  `m` comes from generator `argmax_k (log w_k + g_mk)` with shared Gumbel noise `g`, so
  the comparison sees only the change of weights (common random numbers): the incumbent
  is re-scored on every step's samples, never carried over with a stale (lucky) score,
  and the step never returns weights that score below the incumbent on those samples.
  With fixed samples and noise (`gumbel=` given), the score never falls from step to step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


# --- selection ----------------------------------------------------------------------------
def tournament_select(key: jax.Array, fitness: jax.Array, size: int) -> jax.Array:
    """The slot of the lowest `fitness [K]` among `size` distinct slots drawn uniformly."""
    num = fitness.shape[0]
    if not 1 <= size <= num:
        raise ValueError(f"the tournament size must be in [1, {num}], got {size}")
    entrants = jax.random.permutation(key, num)[:size]  # [t]
    return entrants[jnp.argmin(fitness[entrants])]


def select(key: jax.Array, fitness: jax.Array, size: int) -> jax.Array:
    """The slot that the cell keeps: the tournament winner if it beats slot 0, else 0."""
    winner = tournament_select(key, fitness, size)
    return jnp.where(fitness[winner] < fitness[0], winner, 0)


def take(tree: Any, index: jax.Array) -> Any:
    """Entry `index` of every leaf's leading axis (one individual of a neighbourhood)."""
    return jax.tree.map(lambda leaf: leaf[index], tree)


# --- learning rates in the optimizer state -------------------------------------------------
def _hyperparams_state(opt_state: Any) -> Any:
    if not hasattr(opt_state, "hyperparams") or "learning_rate" not in opt_state.hyperparams:
        raise ValueError(
            "the optimizer state holds no learning rate; build the optimizer with "
            "optax.inject_hyperparams(...)(learning_rate=...)"
        )
    return opt_state


def learning_rate(opt_state: Any) -> jax.Array:
    """The learning rate of an `optax.inject_hyperparams` optimizer state."""
    return _hyperparams_state(opt_state).hyperparams["learning_rate"]


def with_learning_rate(opt_state: Any, rate: jax.Array) -> Any:
    """`opt_state` with its learning rate replaced by `rate` (all else unchanged)."""
    state = _hyperparams_state(opt_state)
    old = state.hyperparams["learning_rate"]
    hyperparams = {**state.hyperparams, "learning_rate": jnp.asarray(rate, old.dtype)}
    return state._replace(hyperparams=hyperparams)


def mutate_learning_rate(
    key: jax.Array,
    opt_state: Any,
    *,
    probability: float,
    std: float,
    minimum: float,
) -> Any:
    """With probability `probability`: `η ← max(η + std·ε, minimum)`, `ε ~ N(0, 1)`."""
    mutate_key, noise_key = jax.random.split(key)
    rate = learning_rate(opt_state)
    mutated = jnp.maximum(rate + std * jax.random.normal(noise_key, rate.shape), minimum)
    rate = jnp.where(jax.random.bernoulli(mutate_key, probability), mutated, rate)
    return with_learning_rate(opt_state, rate)


# --- the mixture (1+1)-ES ------------------------------------------------------------------
def mixture_sample(samples: jax.Array, weights: jax.Array, gumbel: jax.Array) -> jax.Array:
    """`[M, D]`: sample `m` taken from `samples [K, M, D]` of the component
    `argmax_k (log w_k + gumbel[m, k])`, i.e. drawn from the mixture with weights `w`."""
    component = jnp.argmax(jnp.log(weights) + gumbel, axis=-1)  # [M]
    return samples[component, jnp.arange(samples.shape[1])]


def mixture_es_step(
    key: jax.Array,
    weights: jax.Array,
    samples: jax.Array,
    real: jax.Array,
    score_fn: Callable[[jax.Array, jax.Array], jax.Array],
    *,
    sigma: float,
    gumbel: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One (1+1)-ES step on mixture `weights [K]` over generators whose samples are
    `samples [K, M, D]`, scored by `score_fn(mixture samples [M, D], real [R, D])` (higher
    is better). `gumbel [M, K]`: the component noise (default: drawn from `key`). Returns
    `(weights, score, accepted)` after the step."""
    gumbel_key, mutation_key = jax.random.split(key)
    if gumbel is None:
        gumbel = jax.random.gumbel(gumbel_key, (samples.shape[1], samples.shape[0]))  # [M, K]
    elif gumbel.shape != (samples.shape[1], samples.shape[0]):
        raise ValueError(
            f"gumbel needs shape {(samples.shape[1], samples.shape[0])}, got {gumbel.shape}"
        )
    offspring = jnp.abs(weights + sigma * jax.random.normal(mutation_key, weights.shape))
    offspring = jnp.maximum(offspring, 1e-6)
    offspring = offspring / jnp.sum(offspring)
    parent_score = score_fn(mixture_sample(samples, weights, gumbel), real)
    offspring_score = score_fn(mixture_sample(samples, offspring, gumbel), real)
    accepted = offspring_score >= parent_score
    return (
        jnp.where(accepted, offspring, weights),
        jnp.maximum(offspring_score, parent_score),
        accepted,
    )
