"""Synthetic 2-D Gaussian mixtures, the standard mode-collapse benchmarks for GANs.

- `ring8`: 8 equally weighted isotropic Gaussians with means on a circle of radius 2 and
  standard deviation 0.02 (Metz et al. 2017, Unrolled GANs).
- `grid25`: 25 equally weighted Gaussians with means on the 5×5 grid {−4, −2, 0, 2, 4}² and
  standard deviation 0.05 (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).

Labels are the index of the component each point was drawn from. `mixture_modes(name)`
gives the means and the standard deviation for `genjax.metrics.mixtures`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from genjax.data.dataset import Dataset, split
from genjax.data.registry import register


class GaussianMixture(NamedTuple):
    """Equally weighted isotropic Gaussians: `centres [K, 2]`, common standard deviation."""

    centres: np.ndarray
    std: float


def _ring(num_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # [K, 2]


def _grid(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    ticks = spacing * (np.arange(side) - (side - 1) / 2)  # [-4, -2, 0, 2, 4]
    return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)  # [K, 2]


MIXTURES: dict[str, GaussianMixture] = {
    "ring8": GaussianMixture(_ring(), 0.02),
    "grid25": GaussianMixture(_grid(), 0.05),
}


def mixture_modes(name: str) -> GaussianMixture:
    """The means and standard deviation of the synthetic mixture `name`."""
    if name not in MIXTURES:
        raise ValueError(
            f"{name!r} is not a Gaussian mixture dataset; choose from {list(MIXTURES)}"
        )
    mixture = MIXTURES[name]
    return GaussianMixture(mixture.centres.copy(), mixture.std)


def sample_mixture(
    mixture: GaussianMixture, num: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`(x [num, 2] float32, component [num] int32)` drawn with a seeded generator."""
    rng = np.random.default_rng(seed)
    component = rng.integers(len(mixture.centres), size=num)
    x = mixture.centres[component] + mixture.std * rng.standard_normal((num, 2))
    return x.astype(np.float32), component.astype(np.int32)


def _loader(name: str):
    def load(*, seed: int = 0, num_examples: int = 20_000, test_fraction: float = 0.2, **_):
        if num_examples < 2:
            raise ValueError(f"num_examples must be >= 2, got {num_examples}")
        mixture = MIXTURES[name]
        x, y = sample_mixture(mixture, num_examples, seed=seed)
        x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=test_fraction, seed=seed)
        return Dataset(name, x_tr, y_tr, x_te, y_te, kind="real", num_classes=len(mixture.centres))

    mixture = MIXTURES[name]
    load.__doc__ = (
        f"{name}: {len(mixture.centres)} Gaussians of std {mixture.std} in 2-D, "
        f"`num_examples` points (default 20,000) drawn with `seed`, labelled by component."
    )
    return load


for _name in MIXTURES:
    register(_name)(_loader(_name))
