"""Variational bounds for ONE example (vmap over the batch), in nats.

A VAE has a prior `p(z) = N(0, I)`, a decoder likelihood `p(x | z)` and an encoder
`q(z | x) = N(μ, diag σ²)` with `(μ, log σ²)` computed from `x`. Every estimator here draws
`z = μ + σ ⊙ ε`, `ε ~ N(0, I)` from an explicit key (the reparameterization), so that
gradients flow through the sample to the encoder.

- `gaussian_kl(mean, logvar)`: `KL(q ‖ p) = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)`.
- `elbo(log_likelihood, mean, logvar, key, *, beta)`: the single-sample β-weighted loss
  `−log p(x | z) + β KL(q ‖ p)`; at `β = 1` it is minus the evidence lower bound
  `ELBO = E_q[log p(x | z)] − KL(q ‖ p) <= log p(x)`.
- `iwae_bound(log_likelihood, mean, logvar, key, *, num_samples)`: the importance-weighted
  bound (Burda et al. 2016)
  `L_k = log (1/k) Σ_i p(x | z_i) p(z_i) / q(z_i | x)`, `z_i ~ q` independently, with
  `E[L_1] = ELBO <= E[L_k] <= E[L_{k+1}] -> log p(x)` as `k -> ∞`.

`log_likelihood(z) -> log p(x | z)` is the decoder's log-likelihood of this example's `x`
(it closes over `x` and the decoder parameters); `z` has the shape of `mean`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(x: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """`log N(x; μ, diag exp(logvar))` summed over all axes:
    `−½ Σ ((x − μ)² e^{−logvar} + logvar + log 2π)`."""
    return -0.5 * jnp.sum(jnp.square(x - mean) * jnp.exp(-logvar) + logvar + LOG_2PI)


def standard_normal_log_prob(z: jax.Array) -> jax.Array:
    """`log N(z; 0, I) = −½ Σ (z² + log 2π)`."""
    return -0.5 * jnp.sum(jnp.square(z) + LOG_2PI)


def gaussian_kl(mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """`[d]`, `[d]` -> scalar: `KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²)`."""
    return 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(logvar) - 1.0 - logvar)


def reparameterize(key: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """`z = μ + σ ⊙ ε`, `σ = exp(½ logvar)`, `ε ~ N(0, I)` drawn from `key`."""
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps


def elbo(
    log_likelihood: Callable[[jax.Array], jax.Array],
    mean: jax.Array,
    logvar: jax.Array,
    key: jax.Array,
    *,
    beta: float | jax.Array = 1.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The β-VAE loss of one example from one reparameterized sample `z ~ q(z | x)`.

    Returns `(loss, {"loss", "reconstruction", "kl"})` with
    `reconstruction = −log p(x | z)` (an unbiased estimate of `E_q[−log p(x | z)]`),
    `kl = KL(q ‖ N(0, I))` (analytic) and `loss = reconstruction + β kl`; at `β = 1` the
    loss is an unbiased estimate of `−ELBO`. `β > 1` weights the rate more (β-VAE).
    """
    z = reparameterize(key, mean, logvar)
    reconstruction = -log_likelihood(z)
    kl = gaussian_kl(mean, logvar)
    loss = reconstruction + beta * kl
    return loss, {"loss": loss, "reconstruction": reconstruction, "kl": kl}


def iwae_log_weight(
    log_likelihood: Callable[[jax.Array], jax.Array],
    mean: jax.Array,
    logvar: jax.Array,
    key: jax.Array,
) -> jax.Array:
    """`log w = log p(x | z) + log p(z) − log q(z | x)` at one `z = μ + σ ⊙ ε`.

    `log q(z | x) = −½ Σ (ε² + logvar + log 2π)` is computed from `ε` itself, which is
    exact and avoids dividing by a small σ.
    """
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    z = mean + jnp.exp(0.5 * logvar) * eps
    log_q = -0.5 * jnp.sum(jnp.square(eps) + logvar + LOG_2PI)
    return log_likelihood(z) + standard_normal_log_prob(z) - log_q


def iwae_bound(
    log_likelihood: Callable[[jax.Array], jax.Array],
    mean: jax.Array,
    logvar: jax.Array,
    key: jax.Array,
    *,
    num_samples: int,
    chunk_size: int | None = 500,
) -> jax.Array:
    """`L_k = logsumexp_i(log w_i) − log k` over `k = num_samples` samples, a scalar in nats.

    A stochastic lower bound on `log p(x)` (in expectation); `−L_k` estimates the negative
    log-likelihood from above. Sample `i` uses `fold_in(key, i)`, so the value does not
    depend on `chunk_size`: the samples are evaluated `chunk_size` at a time (vmapped
    inside a `lax.map`), which bounds the memory of the decoder's activations to
    `chunk_size` samples per example whatever `k` is (None: all `k` at once). When
    `chunk_size` does not divide `k`, the last chunk is padded with samples of weight 0,
    so that one compiled body serves every chunk.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 or None, got {chunk_size}")
    chunked = chunk_size is not None and chunk_size < num_samples
    # whole chunks only (one compiled body); the padding samples get weight 0
    padded = -(-num_samples // chunk_size) * chunk_size if chunked else num_samples
    index = jnp.arange(padded)  # [k']
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(index)  # [k']

    def log_weight(sample_key):
        return iwae_log_weight(log_likelihood, mean, logvar, sample_key)

    if chunked:
        log_w = jax.lax.map(log_weight, keys, batch_size=chunk_size)  # [k']
        log_w = jnp.where(index < num_samples, log_w, -jnp.inf)
    else:
        log_w = jax.vmap(log_weight)(keys)  # [k]
    return jax.nn.logsumexp(log_w) - jnp.log(float(num_samples))
