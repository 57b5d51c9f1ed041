"""Datasets as numpy arrays with a fixed, seeded train/test split.

    ds = genjax.data.load("digits")            # the embedded default, offline
    ds.x_train  # [N, D] float32, images flattened; ds.image_shape gives (H, W, C)
    ds.y_train  # [N] int32 labels (or None)

Every loader is registered by name in `LOADERS`; `load` dispatches and validates.
"""

from genjax.data.dataset import Dataset, DatasetUnavailableError, split, standardize, validate
from genjax.data.registry import LOADERS, load, register

__all__ = [
    "LOADERS",
    "Dataset",
    "DatasetUnavailableError",
    "load",
    "register",
    "split",
    "standardize",
    "validate",
]
