"""Quality scores of generated samples, jit-able, higher is better: the fitness of the
mixture (1+1)-ES. Each is `score(samples [M, D], real [R, D]) -> scalar`.

- `mode_score(centres, std)`: the Gaussian-mixture metric of `genjax.metrics.mixtures` in
  JAX, `modes covered + high-quality fraction` (a sample is high quality within `3σ` of its
  nearest centre; a mode is covered by one high-quality sample), so more modes always win
  and quality breaks ties. With `draws=n`, the modes term is the number of modes that `n`
  fresh draws are expected to cover, `Σ_k 1 − (1 − p_k)^n`, `p_k` the share of the
  samples that are high quality at mode `k`: a mixture that reaches a mode with a single
  sample is not scored as if it covered it for sure, so an ES step that starves a mode of
  weight loses score instead of keeping it by luck.
- `frechet_score(features)`: `−FID` between the features of generated and real samples,
  `‖μ_r − μ_g‖² + tr Σ_r + tr Σ_g − 2 tr (Σ_r^{1/2} Σ_g Σ_r^{1/2})^{1/2}`, the last trace
  from the eigenvalues of a symmetric matrix (for images, on the FID classifier's features).
- `mmd_score(bandwidths)`: `−MMD²` with a sum of Gaussian kernels, for data without either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

Score = Callable[[jax.Array, jax.Array], jax.Array]


def mode_score(
    centres: np.ndarray, std: float, *, num_std: float = 3.0, draws: int | None = None
) -> Score:
    """`modes covered + high-quality fraction` of the samples on a Gaussian mixture; with
    `draws`, the modes that `draws` fresh samples are expected to cover (module doc)."""
    if draws is not None and draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    centres = jnp.asarray(centres, jnp.float32)  # [K, d]

    def score(samples: jax.Array, real: jax.Array) -> jax.Array:
        del real
        distance = jnp.linalg.norm(samples[:, None, :] - centres[None], axis=-1)  # [M, K]
        nearest = jnp.argmin(distance, axis=1)  # [M]
        high_quality = jnp.min(distance, axis=1) <= num_std * std  # [M]
        hits = jax.nn.one_hot(nearest, centres.shape[0]) * high_quality[:, None]  # [M, K]
        if draws is None:
            covered = jnp.sum(jnp.any(hits > 0, axis=0))
        else:
            share = jnp.mean(hits, axis=0)  # [K] p_k
            covered = jnp.sum(1.0 - jnp.exp(draws * jnp.log1p(-jnp.minimum(share, 1 - 1e-7))))
        return covered + jnp.mean(high_quality)

    return score


def _sqrtm_psd(matrix: jax.Array) -> jax.Array:
    values, vectors = jnp.linalg.eigh(matrix)
    return (vectors * jnp.sqrt(jnp.clip(values, 0.0))) @ vectors.T


def frechet_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    """The Fréchet distance between Gaussians fitted to `a [M, d]` and `b [R, d]`."""
    mean_a, mean_b = jnp.mean(a, 0), jnp.mean(b, 0)
    cov_a, cov_b = jnp.cov(a, rowvar=False), jnp.cov(b, rowvar=False)
    root_a = _sqrtm_psd(cov_a)
    cross = jnp.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = jnp.sum(jnp.sqrt(jnp.clip(cross, 0.0)))
    return jnp.sum((mean_a - mean_b) ** 2) + jnp.trace(cov_a) + jnp.trace(cov_b) - 2 * trace_sqrt


def frechet_score(features: Callable[[jax.Array], jax.Array]) -> Score:
    """`−FID(features(samples), features(real))`."""

    def score(samples: jax.Array, real: jax.Array) -> jax.Array:
        return -frechet_distance(features(samples), features(real))

    return score


def mmd_score(bandwidths: Sequence[float] = (0.1, 1.0, 10.0)) -> Score:
    """`−MMD²` (biased estimate) with `k(x, y) = Σ_h exp(−‖x − y‖² / (2h²))`."""
    scales = jnp.asarray(bandwidths, jnp.float32)

    def kernel(x, y):
        squared = jnp.sum((x[:, None] - y[None]) ** 2, axis=-1)  # [M, R]
        return jnp.mean(jnp.sum(jnp.exp(-squared[..., None] / (2 * scales**2)), axis=-1))

    def score(samples: jax.Array, real: jax.Array) -> jax.Array:
        return -(kernel(samples, samples) + kernel(real, real) - 2 * kernel(samples, real))

    return score
