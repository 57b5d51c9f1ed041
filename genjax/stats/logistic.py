"""A discriminative classifier: L2-regularized binary logistic regression.

    p(y = 1 | x) = sigmoid(wᵀz + b),   z = (x − center) / scale   (standardized features)

The fit minimizes scikit-learn's objective for `LogisticRegression(C=C)` (lbfgs, no
penalty on the intercept):

    J(w, b) = ½‖w‖² + C Σᵢ sᵢ [log(1 + e^{aᵢ}) − yᵢ aᵢ],   aᵢ = wᵀzᵢ + b,

with sample weights sᵢ (1 by default), by damped Newton steps: J is convex and has
D + 1 parameters, so a handful of steps reach float precision. A missing value (mask 0)
is imputed by the training mean of its feature, which is 0 after standardization.

Parameters are an explicit pytree: {"center": [D], "scale": [D], "weights": [D], "bias": []}.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from genjax.stats.densities import weighted_moments
from genjax.stats.mle import newton_ascent


def standardize(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """z = (x − center) / scale, with missing values set to 0 (the mean): `[N, D]`."""
    z = (jnp.asarray(x) - params["center"]) / params["scale"]
    return z if mask is None else jnp.where(jnp.asarray(mask) > 0, z, 0.0)


def logits(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """aᵢ = wᵀzᵢ + b: `[N, D] -> [N]`."""
    return standardize(params, x, mask) @ params["weights"] + params["bias"]


def objective(
    params: dict,
    x: jax.Array,
    y: jax.Array,
    *,
    inverse_regularization: float = 1.0,
    mask: jax.Array | None = None,
    sample_weight: jax.Array | None = None,
) -> jax.Array:
    """J = ½‖w‖² + C Σᵢ sᵢ logloss(aᵢ, yᵢ), scikit-learn's L2 objective (intercept free)."""
    a = logits(params, x, mask)
    loss = optax.sigmoid_binary_cross_entropy(a, jnp.asarray(y, a.dtype))  # [N]
    if sample_weight is not None:
        loss = sample_weight * loss
    return 0.5 * jnp.sum(params["weights"] ** 2) + inverse_regularization * jnp.sum(loss)


def fit(
    x: jax.Array,
    y: jax.Array,
    *,
    inverse_regularization: float = 1.0,
    mask: jax.Array | None = None,
    sample_weight: jax.Array | None = None,
    standardize_features: bool = True,
    steps: int = 30,
) -> dict:
    """Minimize `objective` over (w, b) from zero; `x: [N, D]`, `y: [N]` in {0, 1}.

    With `standardize_features`, center and scale are the weighted mean and standard
    deviation of each feature's observed training values; otherwise 0 and 1. `mask` and
    `sample_weight` default to ones (they become float arrays, so that every call with the
    same shapes shares one compilation).
    """
    x = jnp.asarray(x, jnp.float32)
    mask = jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)
    sample_weight = jnp.ones(x.shape[0]) if sample_weight is None else sample_weight
    return _fit(
        x,
        jnp.asarray(y, x.dtype),
        mask,
        jnp.asarray(sample_weight, x.dtype),
        jnp.asarray(inverse_regularization, x.dtype),
        standardize_features=standardize_features,
        steps=steps,
    )


@functools.partial(jax.jit, static_argnames=("standardize_features", "steps"))
def _fit(x, y, mask, sample_weight, inverse_regularization, *, standardize_features, steps):
    num_examples, num_features = x.shape
    if standardize_features:
        weight = mask * sample_weight[:, None]  # [N, D]
        center, variance = jax.vmap(weighted_moments, in_axes=(1, 1))(x, weight)  # [D]
        scale = jnp.where(variance > 0, jnp.sqrt(variance), 1.0)
    else:
        center, scale = jnp.zeros(num_features, x.dtype), jnp.ones(num_features, x.dtype)
    preprocessing = {"center": center, "scale": scale}
    z = standardize(preprocessing, x, mask)  # [N, D], computed once

    def neg_objective(coefficients):
        full = {**coefficients, "center": jnp.zeros_like(center), "scale": jnp.ones_like(scale)}
        return -objective(
            full, z, y, inverse_regularization=inverse_regularization, sample_weight=sample_weight
        )

    start = {"weights": jnp.zeros(num_features, x.dtype), "bias": jnp.zeros((), x.dtype)}
    coefficients, _ = newton_ascent(neg_objective, start, steps)
    return {**preprocessing, **coefficients}


@jax.jit
def predict_proba(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """[p(y = 0 | x), p(y = 1 | x)]: `[N, D] -> [N, 2]`."""
    return jnp.exp(predict_log_proba(params, x, mask))


@jax.jit
def predict_log_proba(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """[log p(y = 0 | x), log p(y = 1 | x)] = [log sigmoid(−a), log sigmoid(a)]: `[N, 2]`."""
    a = logits(params, x, mask)
    return jnp.stack([jax.nn.log_sigmoid(-a), jax.nn.log_sigmoid(a)], axis=-1)
