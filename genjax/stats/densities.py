"""Per-example log-densities and their starting values, grouped into families.

Every density is a pure function `log_density(params, x) -> log p(x | params)` with `params`
a dict of arrays that broadcast against `x` (scalars for one feature, `[F]` against `[N, F]`).

    Gamma(shape α, rate β):  α log β − log Γ(α) + (α − 1) log x − β x        x > 0
    Gaussian(mean μ, std σ): −½((x − μ)/σ)² − log σ − ½ log 2π               x ∈ ℝ
    Bernoulli(logit η):      x η − log(1 + eʰ)                                x ∈ {0, 1}

A `Family` bundles a density with the names of its positive parameters (fitted through
their logarithm, see `genjax.stats.mle`), a starting point computed from weighted data
(closed form where the maximum-likelihood estimate has one, method of moments otherwise)
and its support, so that code can check which features a family can describe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy
from jax.scipy.stats import norm

Params = dict[str, jax.Array]


def gamma_log_density(params: Params, x: jax.Array) -> jax.Array:
    """log Gamma(x | α, β) = α log β − log Γ(α) + (α − 1) log x − β x  (shape α, rate β)."""
    shape, rate = params["shape"], params["rate"]
    return xlogy(shape, rate) - gammaln(shape) + xlogy(shape - 1.0, x) - rate * x


def gaussian_log_density(params: Params, x: jax.Array) -> jax.Array:
    """log N(x | μ, σ²) = −½((x − μ)/σ)² − log σ − ½ log 2π."""
    return norm.logpdf(x, params["mean"], params["std"])


def bernoulli_log_density(params: Params, x: jax.Array) -> jax.Array:
    """log Bernoulli(x | p = sigmoid(η)) = x η − softplus(η), for x ∈ {0, 1}."""
    logit = params["logit"]
    return x * logit - jax.nn.softplus(logit)


def weighted_moments(x: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Weighted mean Σwx/Σw and (biased, maximum-likelihood) variance Σw(x − mean)²/Σw.

    `x, weights: [N]`; weights are 0/1 masks or counts. With no weight at all the
    denominators are clamped to 1, so the result is 0 rather than NaN.
    """
    total = jnp.maximum(jnp.sum(weights), 1e-12)
    mean = jnp.sum(weights * x) / total
    variance = jnp.sum(weights * (x - mean) ** 2) / total
    return mean, variance


def gamma_moments(x: jax.Array, weights: jax.Array) -> Params:
    """Method of moments for Gamma: mean = α/β and variance = α/β², so α = m²/v, β = m/v."""
    mean, variance = weighted_moments(x, weights)
    variance = jnp.maximum(variance, 1e-12 * mean**2 + 1e-30)
    return {"shape": mean**2 / variance, "rate": mean / variance}


def gaussian_closed_form(x: jax.Array, weights: jax.Array) -> Params:
    """The Gaussian maximum-likelihood estimate: μ = weighted mean, σ² = biased variance."""
    mean, variance = weighted_moments(x, weights)
    return {"mean": mean, "std": jnp.sqrt(variance)}


def bernoulli_closed_form(x: jax.Array, weights: jax.Array) -> Params:
    """The Bernoulli maximum-likelihood estimate p = weighted mean, as a logit (clipped)."""
    mean, _ = weighted_moments(x, weights)
    p = jnp.clip(mean, 1e-6, 1.0 - 1e-6)
    return {"logit": jnp.log(p) - jnp.log1p(-p)}


class Family(NamedTuple):
    """A parametric family of one-dimensional densities.

    `log_density(params, x)`: per-example log-density; `initial_params(x, weights)`: a
    starting point from `[N]` data and `[N]` weights (closed form or moments); `positive`:
    names of the parameters that must stay positive; `in_support(x)`: elementwise test.
    """

    name: str
    log_density: Callable[[Params, jax.Array], jax.Array]
    initial_params: Callable[[jax.Array, jax.Array], Params]
    positive: tuple[str, ...]
    in_support: Callable[[jax.Array], jax.Array]


GAMMA = Family("gamma", gamma_log_density, gamma_moments, ("shape", "rate"), lambda x: x > 0)
GAUSSIAN = Family(
    "gaussian", gaussian_log_density, gaussian_closed_form, ("std",), lambda x: jnp.isfinite(x)
)
BERNOULLI = Family(
    "bernoulli",
    bernoulli_log_density,
    bernoulli_closed_form,
    (),
    lambda x: (x == 0) | (x == 1),
)
FAMILIES: dict[str, Family] = {f.name: f for f in (GAMMA, GAUSSIAN, BERNOULLI)}


def get_family(family: Family | str) -> Family:
    """A `Family` by itself or by name ("gamma", "gaussian", "bernoulli")."""
    if isinstance(family, Family):
        return family
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[family]
