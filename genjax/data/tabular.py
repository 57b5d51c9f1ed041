"""Tables of measurements: the Pima Indians diabetes data, and where values are missing.

`Dataset` arrays must be finite, so a missing value stays in `x` as the placeholder its
source uses (Pima writes 0 for a Glucose, BloodPressure, SkinThickness, Insulin or BMI that
was not measured) and `observed_mask(ds, x)` says which entries are real: code that fits
densities takes that `[N, F]` mask and leaves the other entries out.

    ds = genjax.data.load("pima", data_path="path/to/diabetes.csv")
    observed = observed_mask(ds, ds.x_train)  # [N, 8] bool
"""

from __future__ import annotations

import csv
import os

import numpy as np

from genjax.data.dataset import Dataset, DatasetUnavailableError, split
from genjax.data.registry import register

PIMA_FEATURES = (
    "Pregnancies",
    "Glucose",
    "BloodPressure",
    "SkinThickness",
    "Insulin",
    "BMI",
    "DiabetesPedigreeFunction",
    "Age",
)
PIMA_LABEL = "Outcome"
PIMA_OPENML_ID = 37  # OpenML's "diabetes": same columns, named preg, plas, pres, ..., class

# Per dataset, the features in which a 0 is a missing value rather than a measurement.
MISSING_AS_ZERO: dict[str, tuple[str, ...]] = {
    "pima": ("Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"),
}


def observed_mask(ds: Dataset, x: np.ndarray) -> np.ndarray:
    """`[N, F]` bool: False where `x` holds a placeholder for a missing value of `ds`.

    All True for datasets without missing values; `x` is any part of `ds` (train or test).
    """
    observed = np.ones(x.shape, dtype=bool)
    zero_means_missing = MISSING_AS_ZERO.get(ds.name, ())
    for f, feature in enumerate(ds.feature_names or ()):
        if feature in zero_means_missing:
            observed[:, f] = x[:, f] != 0
    return observed


def _how_to_provide() -> str:
    return (
        "pass --data-path path/to/diabetes.csv (the 768-row table with header "
        f"{','.join(PIMA_FEATURES)},{PIMA_LABEL}), or run once with internet for OpenML"
    )


def read_pima_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """`(x [N, 8] float32, y [N] int32)` from a CSV with Pima's usual header.

    `path` is the file or a directory holding `diabetes.csv`. Columns are found by name, in
    any order; a clear ValueError names what is wrong with a malformed file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "diabetes.csv")
    if not os.path.exists(path):
        raise DatasetUnavailableError(f"pima: {path} does not exist; {_how_to_provide()}")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
    absent = [c for c in (*PIMA_FEATURES, PIMA_LABEL) if c not in header]
    if absent:
        raise ValueError(f"pima: {path} lacks the columns {', '.join(absent)}")
    try:
        table = np.array(body, dtype=np.float64)  # [N, columns]
    except ValueError as err:
        raise ValueError(f"pima: {path} has a non-numeric or ragged row ({err})") from err
    x = table[:, [header.index(c) for c in PIMA_FEATURES]].astype(np.float32)
    labels = table[:, header.index(PIMA_LABEL)]
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"pima: {path} has {PIMA_LABEL} values other than 0 and 1")
    return x, labels.astype(np.int32)


def fetch_pima_openml() -> tuple[np.ndarray, np.ndarray]:
    """`(x, y)` from OpenML (needs internet once; scikit-learn caches the download)."""
    import sklearn.datasets

    try:
        bunch = sklearn.datasets.fetch_openml(
            data_id=PIMA_OPENML_ID, as_frame=False, parser="liac-arff"
        )
    except Exception as err:  # no network, proxy, HTTP errors, ...
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetUnavailableError(
            f"pima: OpenML could not be reached ({reason}); {_how_to_provide()}"
        ) from err
    x = np.asarray(bunch.data, dtype=np.float32)  # columns in PIMA_FEATURES order
    y = (np.asarray(bunch.target) == "tested_positive").astype(np.int32)
    return x, y


@register("pima")
def pima(
    *, data_path: str | None = None, seed: int = 0, test_fraction: float = 0.25, **_
) -> Dataset:
    """768 women of Pima heritage, 8 clinical features, label 1 = diabetes (268 of 768).

    Zeros in Glucose, BloodPressure, SkinThickness, Insulin and BMI are missing values,
    kept as 0 in `x`; see `observed_mask`.
    """
    x, y = read_pima_csv(data_path) if data_path is not None else fetch_pima_openml()
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(
        "pima", x_tr, y_tr, x_te, y_te, kind="real", num_classes=2, feature_names=PIMA_FEATURES
    )
