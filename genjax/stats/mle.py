"""Maximum likelihood by optimization, one compiled call for a whole table of features.

For one feature with observations x₁…x_N, weights w₁…w_N (0/1: observed or missing) and a
density p(x | θ), the fit maximizes the mean log-likelihood

    ℓ(θ) = Σᵢ wᵢ log p(xᵢ | θ) / Σᵢ wᵢ

over unconstrained parameters u: a positive parameter θₖ is exp(uₖ) (the log link keeps
steps scale-free: ∂ℓ/∂log β = β ∂ℓ/∂β, so features in millimetres and in units of 10³ take
the same steps), the others are uₖ itself. The optimizer is Adam for `steps` steps from the
given start (its learning rate decaying to 0 on a cosine), then `newton_steps` damped
Newton steps, which take the last digits that a first-order method reaches slowly.
Features are independent problems, so the per-feature fit is `jax.vmap`-ed over the columns
of `x: [N, F]`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from genjax.stats.densities import Family, Params, get_family

LogDensity = Callable[[Params, jax.Array], jax.Array]


class MLEFit(NamedTuple):
    """The result of `fit_mle` on `x: [N, F]`.

    params: dict of `[F]` arrays; mean_log_likelihood: `[F]`, ℓ at the returned params;
    trace: `[steps + newton_steps + 1, F]`, ℓ after 0, 1, … optimizer updates;
    count: `[F]`, total weight Σᵢ wᵢ (the number of observed values).
    """

    params: Params
    mean_log_likelihood: jax.Array
    trace: jax.Array
    count: jax.Array


def to_unconstrained(params: Params, positive: tuple[str, ...]) -> Params:
    """u = log θ for the positive parameters, θ itself for the others."""
    return {k: jnp.log(v) if k in positive else v for k, v in params.items()}


def from_unconstrained(u: Params, positive: tuple[str, ...]) -> Params:
    """θ = exp(u) for the positive parameters, u itself for the others."""
    return {k: jnp.exp(v) if k in positive else v for k, v in u.items()}


@functools.partial(jax.jit, static_argnames="log_density")
def mean_log_likelihood(
    log_density: LogDensity, params: Params, x: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
    """ℓ = Σᵢ wᵢ log p(xᵢ | θ) / Σᵢ wᵢ per feature: `x, mask: [N, F]`, params `[F]` -> `[F]`.

    Masked entries are replaced by 1.0 (inside every support here) before the density is
    evaluated, so that a missing value never produces a NaN, not even in a gradient.
    """
    weights = jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)
    x = jnp.where(weights > 0, x, 1.0)
    total = jnp.maximum(jnp.sum(weights, axis=0), 1e-12)  # [F]
    return jnp.sum(weights * log_density(params, x), axis=0) / total


def newton_ascent(
    objective: Callable[[Params], jax.Array], params: Params, steps: int, *, halvings: int = 12
) -> tuple[Params, jax.Array]:
    """Maximize a smooth scalar `objective` by damped Newton steps; returns (params, trace).

    Each step goes along d = |H|⁻¹ g, with g the gradient and |H| the Hessian with its
    eigenvalues replaced by their absolute values (the Newton step −H⁻¹g where the objective
    is concave, and still an ascent direction where it is not). The step length is the
    largest of 1, ½, ¼, … (at most `halvings` halvings) that does not lower the objective by
    more than float rounding; if none does, the parameters stay. `trace[t]` is the
    objective before step t.
    """
    flat, unravel = ravel_pytree(params)

    def f(v):
        return objective(unravel(v))

    rounding = 16 * jnp.finfo(flat.dtype).eps

    def step(v, _):
        value, grad = jax.value_and_grad(f)(v)
        eigenvalues, eigenvectors = jnp.linalg.eigh(jax.hessian(f)(v))
        curvature = jnp.maximum(jnp.abs(eigenvalues), 1e-12 * jnp.max(jnp.abs(eigenvalues)))
        direction = eigenvectors @ ((eigenvectors.T @ grad) / curvature)
        direction = jnp.where(jnp.all(jnp.isfinite(direction)), direction, 0.0)

        def acceptable(new_value):
            return jnp.isfinite(new_value) & (new_value >= value - rounding * (1 + jnp.abs(value)))

        def keep_halving(state):
            halved, _, new_value = state
            return (halved < halvings) & ~acceptable(new_value)

        def halve(state):
            halved, length, _ = state
            return halved + 1, length / 2, f(v + (length / 2) * direction)

        one = jnp.ones((), flat.dtype)
        _, length, new_value = jax.lax.while_loop(keep_halving, halve, (0, one, f(v + direction)))
        return jnp.where(acceptable(new_value), v + length * direction, v), value

    flat, trace = jax.lax.scan(step, flat, length=steps)
    return unravel(flat), trace


def _fit_one_feature(
    log_density: LogDensity,
    positive: tuple[str, ...],
    steps: int,
    learning_rate: float,
    newton_steps: int,
    x: jax.Array,  # [N]
    weights: jax.Array,  # [N]
    init: Params,  # scalars
) -> tuple[Params, jax.Array, jax.Array]:
    def objective(u):
        params = from_unconstrained(u, positive)
        return mean_log_likelihood(log_density, params, x[:, None], weights[:, None])[0]

    tx = optax.adam(optax.cosine_decay_schedule(learning_rate, max(steps, 1)))

    def adam_step(carry, _):
        u, opt_state = carry
        value, grad = jax.value_and_grad(objective)(u)
        ascent = jax.tree.map(jnp.negative, grad)  # optax minimizes
        updates, opt_state = tx.update(ascent, opt_state, u)
        return (optax.apply_updates(u, updates), opt_state), value

    u = to_unconstrained(init, positive)
    (u, _), adam_trace = jax.lax.scan(adam_step, (u, tx.init(u)), length=steps)
    u, newton_trace = newton_ascent(objective, u, newton_steps)
    final = objective(u)
    trace = jnp.concatenate([adam_trace, newton_trace, final[None]])
    return from_unconstrained(u, positive), final, trace


@functools.partial(
    jax.jit, static_argnames=("log_density", "positive", "steps", "learning_rate", "newton_steps")
)
def fit_mle(
    log_density: LogDensity,
    x: jax.Array,
    init: Params,
    *,
    mask: jax.Array | None = None,
    positive: tuple[str, ...] = (),
    steps: int = 300,
    learning_rate: float = 0.02,
    newton_steps: int = 10,
) -> MLEFit:
    """Maximize each column's mean log-likelihood Σᵢ wᵢ log p(xᵢ | θ) / Σᵢ wᵢ.

    `x: [N, F]`; `init`: dict of `[F]` (or scalar, broadcast) starting parameters;
    `mask: [N, F]` (bool or weights; missing values get 0); `positive`: the names of
    the parameters fitted through their logarithm. All `F` fits run in one compiled call.
    """
    num_features = x.shape[1]
    weights = jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)
    init = jax.tree.map(lambda v: jnp.broadcast_to(jnp.asarray(v, x.dtype), (num_features,)), init)
    fit_one = functools.partial(
        _fit_one_feature, log_density, positive, steps, learning_rate, newton_steps
    )
    params, final, trace = jax.vmap(fit_one, in_axes=(1, 1, 0), out_axes=(0, 0, 1))(
        x, weights, init
    )
    return MLEFit(params, final, trace, jnp.sum(weights, axis=0))


@functools.partial(jax.jit, static_argnames="family")
def initial_params(family: Family | str, x: jax.Array, mask: jax.Array | None = None) -> Params:
    """The family's start for every column of `x: [N, F]`: closed form or moments, `[F]`."""
    family = get_family(family)
    weights = jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)
    return jax.vmap(family.initial_params, in_axes=(1, 1))(x, weights)


def fit_family(
    family: Family | str,
    x: jax.Array,
    *,
    mask: jax.Array | None = None,
    init: Params | None = None,
    steps: int = 300,
    learning_rate: float = 0.02,
    newton_steps: int = 10,
) -> MLEFit:
    """`fit_mle` with a family's density, positive parameters and start (unless `init`).

    Masks become float weights and the start is computed before the call, so masked and
    unmasked fits, from any start, share one compilation of `fit_mle`.
    """
    family = get_family(family)
    x = jnp.asarray(x, jnp.float32)
    weights = jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)
    if init is None:
        init = initial_params(family, x, weights)
    return fit_mle(
        family.log_density,
        x,
        init,
        mask=weights,
        positive=family.positive,
        steps=steps,
        learning_rate=learning_rate,
        newton_steps=newton_steps,
    )
