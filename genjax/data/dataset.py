"""The `Dataset` container, the seeded split, standardization, and input validation."""

from __future__ import annotations

import dataclasses

import numpy as np


class DatasetUnavailableError(RuntimeError):
    """A dataset that cannot be had here; the message says how to provide it."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Arrays of one dataset, split once with a fixed seed.

    `x_*` are float32 with the example axis first: `[N, D]` for images (flattened row-major
    from `image_shape = (H, W, C)`) and tables, `[N, T, F]` for sequences. `y_*` are int32
    class labels in `[0, num_classes)` or None. `kind` is "binary" for values in [0, 1]
    (Bernoulli likelihood) and "real" otherwise (Gaussian likelihood).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    kind: str = "real"
    image_shape: tuple[int, int, int] | None = None
    num_classes: int | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def input_dim(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def images(self, x: np.ndarray) -> np.ndarray:
        """`[N, D] -> [N, H, W, C]` for an image dataset."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} is not an image dataset")
        return x.reshape((-1, *self.image_shape))


def split(
    x: np.ndarray, y: np.ndarray | None, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """A seeded random split into `(x_train, y_train, x_test, y_test)`."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    pick = lambda a, i: None if a is None else a[i]  # noqa: E731
    return x[train], pick(y, train), x[test], pick(y, test)


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(x − μ) / (σ + 1e-8)` per feature for both splits, `μ`, `σ` from the training set."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    return (x_train - mean) / std, (x_test - mean) / std


def validate(ds: Dataset) -> Dataset:
    """Raise a one-line ValueError naming the problem if the arrays are unusable."""
    for part in ("train", "test"):
        x, y = getattr(ds, f"x_{part}"), getattr(ds, f"y_{part}")
        if x.ndim < 2:
            raise ValueError(f"{ds.name}: x_{part} must be [N, ...], got shape {x.shape}")
        if len(x) == 0:
            raise ValueError(f"{ds.name}: x_{part} is empty")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int((~np.isfinite(x)).any(axis=tuple(range(1, x.ndim))).sum())
            raise ValueError(f"{ds.name}: x_{part} has NaN or Inf in {bad} examples")
        if y is not None:
            if y.shape != (len(x),):
                raise ValueError(f"{ds.name}: y_{part} must be [{len(x)}], got {y.shape}")
            if ds.num_classes is not None and (y.min() < 0 or y.max() >= ds.num_classes):
                raise ValueError(
                    f"{ds.name}: y_{part} labels must lie in [0, {ds.num_classes}), "
                    f"got [{y.min()}, {y.max()}]"
                )
    if ds.image_shape is not None and ds.input_dim != int(np.prod(ds.image_shape)):
        raise ValueError(f"{ds.name}: {ds.input_dim} features do not fit {ds.image_shape}")
    return ds
