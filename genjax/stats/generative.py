"""A generative classifier: class priors and per-feature class-conditional densities.

The model is p(y = c) p(x | y = c) with features independent given the class ("naive
Bayes"): log p(x | c) = Σ_f log p_f(x_f | θ_cf), each p_f from a family (Gamma for positive
features, Gaussian, Bernoulli) fitted by maximum likelihood on the examples of class c.
Prediction is Bayes' rule,

    p(c | x) = p(c) Π_f p_f(x_f | θ_cf) / Σ_c' p(c') Π_f p_f(x_f | θ_c'f),

and a missing value x_f is integrated out: ∫ p_f(x_f | θ) dx_f = 1, so its factor drops.

`fit` is two steps: `fit_densities` fits one family to every feature, for each class and
for all classes pooled, in one compiled call; `combine` takes each feature's family and
falls back to the pooled fit where a class has too little data.

Parameters are an explicit pytree:

    {"log_prior": [C],
     "feature_index": {family: [F_family] int32},          # which columns use the family
     "densities": {family: {param: [C, F_family]}}}        # e.g. gamma: shape, rate
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genjax.stats.densities import FAMILIES, Params, get_family, weighted_moments
from genjax.stats.mle import MLEFit, fit_family


def _weights(x: jax.Array, mask: jax.Array | None) -> jax.Array:
    return jnp.ones_like(x) if mask is None else jnp.asarray(mask, x.dtype)


def _standard_inputs(x, y, mask, sample_weight):
    """float32 `x`, `mask` and `sample_weight` (ones where None), int `y`: every call of a
    compiled fit then has the same signature, whatever the caller passed."""
    x = jnp.asarray(x, jnp.float32)
    sample_weight = jnp.ones(x.shape[0]) if sample_weight is None else sample_weight
    return x, jnp.asarray(y, jnp.int32), _weights(x, mask), jnp.asarray(sample_weight, x.dtype)


def fit_densities(
    x: jax.Array,
    y: jax.Array,
    *,
    family: str,
    num_classes: int,
    mask: jax.Array | None = None,
    sample_weight: jax.Array | None = None,
    steps: int = 300,
    learning_rate: float = 0.02,
    newton_steps: int = 10,
) -> MLEFit:
    """Maximum-likelihood fits of one family to every feature, for each class and pooled.

    `x, mask: [N, F]`, `y, sample_weight: [N]`. The fits of group g = 0..C-1 (the examples
    of class g) and g = C (all classes) run as the columns of one `fit_family` call. The
    result's leaves get a group axis: params, mean_log_likelihood and count `[C+1, F]`,
    trace `[T, C+1, F]`. A feature with values outside the family's support (a zero under a
    Gamma) gets a non-finite log-likelihood, which `combine` treats as unusable.
    """
    x, y, mask, sample_weight = _standard_inputs(x, y, mask, sample_weight)
    options = dict(steps=steps, learning_rate=learning_rate, newton_steps=newton_steps)
    return _fit_densities(
        x, y, mask, sample_weight, family=family, num_classes=num_classes, **options
    )


@functools.partial(
    jax.jit,
    static_argnames=("family", "num_classes", "steps", "learning_rate", "newton_steps"),
)
def _fit_densities(x, y, mask, sample_weight, *, family, num_classes, **options) -> MLEFit:
    num_examples, num_features = x.shape
    in_class = jnp.asarray(y)[None, :] == jnp.arange(num_classes)[:, None]  # [C, N]
    group_weight = jnp.concatenate([in_class * sample_weight, sample_weight[None, :]])  # [C+1, N]
    weight = group_weight[:, :, None] * jnp.asarray(mask, x.dtype)[None]  # [C+1, N, F]
    weight = jnp.moveaxis(weight, 0, 1).reshape(num_examples, -1)  # [N, (C+1)·F]
    xs = jnp.tile(x, (1, num_classes + 1))  # [N, (C+1)·F], column g·F + f
    fitted = fit_family(family, xs, mask=weight, **options)

    def by_group(v):  # [..., (C+1)·F] -> [..., C+1, F]
        return v.reshape(*v.shape[:-1], num_classes + 1, num_features)

    return jax.tree.map(by_group, fitted)


@functools.partial(jax.jit, static_argnames=("families",))
def combine(
    fits: dict[str, MLEFit],
    x: jax.Array,
    y: jax.Array,
    *,
    families: tuple[str, ...],
    mask: jax.Array,
    sample_weight: jax.Array,
    min_count: float = 2.0,
) -> dict:
    """The classifier's parameters from `fit_densities` results, one family per feature.

    Priors are the weighted class frequencies p(c) = N_c / N. A class whose feature has
    fewer than `min_count` observed values, or values that are all equal (the
    maximum-likelihood density would be a spike), takes the pooled fit of that feature. A
    feature without a usable pooled fit (no data at all, say) gets one placeholder density
    (all parameters 1, valid in every family) shared by all classes: it cancels out of
    Bayes' rule. `mask` and `sample_weight` are those the fits were made with.
    """
    x = jnp.asarray(x)
    some_fit = next(iter(fits.values()))
    num_classes = some_fit.count.shape[0] - 1
    in_class = jnp.asarray(y)[None, :] == jnp.arange(num_classes)[:, None]  # [C, N]
    class_total = jnp.sum(in_class * sample_weight, axis=1)  # [C]
    group_weight = jnp.concatenate([in_class * sample_weight, sample_weight[None, :]])
    weight = group_weight[:, :, None] * jnp.asarray(mask, x.dtype)[None]  # [C+1, N, F]
    moments = jax.vmap(jax.vmap(weighted_moments, in_axes=(1, 1)), in_axes=(None, 0))
    _, variance = moments(x, weight)  # [C+1, F]

    params = {
        "log_prior": jnp.log(class_total) - jnp.log(jnp.sum(class_total)),
        "feature_index": {},
        "densities": {},
    }
    for name in sorted(set(families)):
        index = np.array([f for f, fam in enumerate(families) if fam == name], np.int32)
        fit = jax.tree.map(lambda v, index=index: v[..., index], fits[name])  # [C+1, Fg]
        var = variance[:, index]  # [C+1, Fg]
        pooled_usable = (
            (fit.count[-1] >= min_count) & (var[-1] > 0) & jnp.isfinite(fit.mean_log_likelihood[-1])
        )  # [Fg]
        usable = (
            (fit.count[:-1] >= min_count)
            & (var[:-1] > 1e-12 * var[-1])
            & jnp.isfinite(fit.mean_log_likelihood[:-1])
            & pooled_usable
        )  # [C, Fg]

        def choose(v, usable=usable, pooled_usable=pooled_usable):  # [C+1, Fg] -> [C, Fg]
            pooled = jnp.where(pooled_usable, v[-1], jnp.ones_like(v[-1]))
            return jnp.where(usable, v[:-1], pooled)

        params["feature_index"][name] = jnp.asarray(index)
        params["densities"][name] = jax.tree.map(choose, fit.params)
    return params


def fit(
    x: jax.Array,
    y: jax.Array,
    *,
    families: tuple[str, ...],
    num_classes: int,
    mask: jax.Array | None = None,
    sample_weight: jax.Array | None = None,
    min_count: float = 2.0,
    steps: int = 300,
    learning_rate: float = 0.02,
    newton_steps: int = 10,
) -> dict:
    """Fit class priors and each class's per-feature densities by maximum likelihood.

    `x: [N, F]`, `y: [N]` int labels; `families`: one family name per feature;
    `mask: [N, F]` marks observed values (missing ones are left out of every fit);
    `sample_weight: [N]` (0/1 picks a training subset with fixed shapes, so that fits on
    subsets share one compilation). See `fit_densities` and `combine`.
    """
    x, y, mask, sample_weight = _standard_inputs(x, y, mask, sample_weight)
    if len(families) != x.shape[1]:
        raise ValueError(f"got {len(families)} families for {x.shape[1]} features")
    options = dict(steps=steps, learning_rate=learning_rate, newton_steps=newton_steps)
    fits = {
        name: fit_densities(
            x,
            y,
            family=name,
            num_classes=num_classes,
            mask=mask,
            sample_weight=sample_weight,
            **options,
        )
        for name in sorted(set(families))
    }
    return combine(
        fits, x, y, families=families, mask=mask, sample_weight=sample_weight, min_count=min_count
    )


@jax.jit
def feature_log_densities(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """log p_f(x_nf | θ_cf) for every example, class and feature: `[N, F] -> [N, C, F]`.

    Missing values (mask 0) contribute 0, i.e. they are integrated out.
    """
    x = jnp.asarray(x)
    observed = _weights(x, mask) > 0  # [N, F]
    num_classes = params["log_prior"].shape[-1]
    out = jnp.zeros((x.shape[0], num_classes, x.shape[1]), x.dtype)
    for name, index in params["feature_index"].items():
        family = get_family(name)
        seen = observed[:, index][:, None, :]  # [N, 1, Fg]
        xs = jnp.where(seen, x[:, index][:, None, :], 1.0)  # [N, 1, Fg]
        density_params = jax.tree.map(lambda p: p[None], params["densities"][name])  # [1, C, Fg]
        log_p = jnp.where(seen, family.log_density(density_params, xs), 0.0)  # [N, C, Fg]
        out = out.at[:, :, index].set(log_p)
    return out


@jax.jit
def log_joint(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """log p(c) + Σ_f log p_f(x_f | θ_cf): `[N, F] -> [N, C]`."""
    return params["log_prior"] + jnp.sum(feature_log_densities(params, x, mask), axis=-1)


@jax.jit
def predict_log_proba(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """log p(c | x) by Bayes' rule (a log-softmax of the log joint over classes): `[N, C]`."""
    return jax.nn.log_softmax(log_joint(params, x, mask), axis=-1)


@jax.jit
def predict_proba(params: dict, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """p(c | x) = p(c) p(x | c) / Σ_c' p(c') p(x | c'): `[N, F] -> [N, C]`."""
    return jnp.exp(predict_log_proba(params, x, mask))


@jax.jit
def mean_log_likelihood_by_class(
    params: dict, x: jax.Array, y: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
    """Per class and feature, the mean of log p_f(x_f | θ_cf) over that class's observed
    values: `[C, F]` (NaN where a class has none)."""
    x = jnp.asarray(x)
    log_p = feature_log_densities(params, x, mask)  # [N, C, F]
    num_classes = log_p.shape[1]
    in_class = jnp.asarray(y)[:, None] == jnp.arange(num_classes)[None, :]  # [N, C]
    weight = in_class[:, :, None] * _weights(x, mask)[:, None, :]  # [N, C, F]
    return jnp.sum(weight * log_p, axis=0) / jnp.sum(weight, axis=0)


def feature_params(params: dict, feature: int) -> tuple[str, Params]:
    """The family name and `{param: [C]}` of one feature's class-conditional densities."""
    for name, index in params["feature_index"].items():
        hits = np.flatnonzero(np.asarray(index) == feature)
        if hits.size:
            return name, {k: v[:, hits[0]] for k, v in params["densities"][name].items()}
    raise ValueError(f"feature {feature} is not in the model")


def choose_families(
    x: np.ndarray, mask: np.ndarray | None = None, *, prefer: str = "gamma"
) -> tuple[str, ...]:
    """Per feature, `prefer` ("gamma") where every observed value is in its support,
    else "gaussian" (e.g. counts with true zeros, like Pima's Pregnancies)."""
    family = FAMILIES[prefer]
    x = np.asarray(x)
    observed = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
    in_support = np.asarray(family.in_support(jnp.asarray(x))) | ~observed  # [N, F]
    return tuple(prefer if ok else "gaussian" for ok in in_support.all(axis=0))
