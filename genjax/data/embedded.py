"""Datasets shipped with scikit-learn, so every script runs offline out of the box."""

from __future__ import annotations

import numpy as np
import sklearn.datasets

from genjax.data.dataset import Dataset, split
from genjax.data.registry import register


@register("digits")
def digits(*, seed: int = 0, test_fraction: float = 0.2, **_) -> Dataset:
    """1797 handwritten digits, 8×8 grey levels 0..16 scaled to [0, 1], 10 classes.

    Kind "real": 42 % of the pixels lie strictly between 0 and 1, so a Bernoulli likelihood
    would carry an entropy floor of 13.7 nats per test image (half the loss of predicting
    the mean); the grey levels are modelled as real intensities (½‖x̂ − x‖²) by default.
    """
    bunch = sklearn.datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # [1797, 64]
    y = bunch.target.astype(np.int32)
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(
        "digits", x_tr, y_tr, x_te, y_te, kind="real", image_shape=(8, 8, 1), num_classes=10
    )


@register("breast_cancer")
def breast_cancer(*, seed: int = 0, test_fraction: float = 0.25, **_) -> Dataset:
    """569 tumours, 30 positive real features, binary label (1 = benign)."""
    bunch = sklearn.datasets.load_breast_cancer()
    x = bunch.data.astype(np.float32)  # [569, 30]
    y = bunch.target.astype(np.int32)
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(
        "breast_cancer",
        x_tr,
        y_tr,
        x_te,
        y_te,
        kind="real",
        num_classes=2,
        feature_names=tuple(bunch.feature_names),
    )
