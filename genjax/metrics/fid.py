"""Sample quality of image generators on the features of a classifier trained on the same
data: the Fréchet distance (FID) and k-NN precision / recall.

No downloaded Inception network: `feature_extractor(ds)` trains a small MLP classifier on
the dataset's labelled training set with `genjax.train.fit` (cached under `cache_dir`, e.g.
the run's workdir, and restored on the next call) and uses its last hidden layer as the
feature map `φ`. Numbers are therefore comparable only between runs on the same dataset
with the same classifier (same seed and size), not with published Inception FIDs.

- FID (Heusel et al. 2017): the Fréchet distance of two Gaussians fitted to the features,
  `‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2})`.
- precision / recall (Kynkäänniemi et al. 2019): each real feature `φ_i` covers the ball of
  radius `r_i` = the distance to its k-th nearest real neighbour; precision is the share of
  generated features inside the union of real balls (quality), recall the share of real
  features inside the union of the generated ones' balls (coverage).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.linalg
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from genjax.checkpoint import Checkpointer
from genjax.data.dataset import Dataset


# --- distances between feature sets -------------------------------------------------------
def frechet_distance(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """`‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})`, the squared 2-Wasserstein
    distance between `N(μ_a, Σ_a)` and `N(μ_b, Σ_b)`."""
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    square = (len(mean_a), len(mean_a))
    if mean_a.shape != mean_b.shape or cov_a.shape != square or cov_b.shape != square:
        raise ValueError(
            f"means [d] and covariances [d, d] must match, got {mean_a.shape}, {cov_a.shape}, "
            f"{mean_b.shape}, {cov_b.shape}"
        )
    with warnings.catch_warnings():  # dead ReLU features make the product singular
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # regularize, as the reference FID code does
            offset = 1e-6 * np.eye(len(mean_a))
            covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = np.real(covmean)  # drop the round-off imaginary part
    diff = mean_a - mean_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to `[N, d]` and `[M, d]` features."""
    real, fake = _features(real_features, "real"), _features(fake_features, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    return frechet_distance(
        real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False)
    )


def _features(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} features must be [N >= 2, d], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} features hold NaN or Inf")
    return x


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """`[N]`: the distance of each point to its k-th nearest other point of `x`."""
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, k]  # column 0 is the point itself


def _inside_union(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """`[N]` bool: point inside at least one ball `‖p − c_i‖ ≤ r_i`, in chunks of 1024."""
    inside = np.empty(len(points), bool)
    for lo in range(0, len(points), 1024):
        block = cdist(points[lo : lo + 1024], centres)  # [≤1024, M]
        inside[lo : lo + 1024] = (block <= radii[None]).any(axis=1)
    return inside


def precision_recall(
    real_features: np.ndarray, fake_features: np.ndarray, *, k: int = 3
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls."""
    real, fake = _features(real_features, "real"), _features(fake_features, "fake")
    if k < 1 or k >= min(len(real), len(fake)):
        raise ValueError(f"k must be in [1, {min(len(real), len(fake)) - 1}], got {k}")
    precision = _inside_union(fake, real, _knn_radii(real, k)).mean()
    recall = _inside_union(real, fake, _knn_radii(fake, k)).mean()
    return float(precision), float(recall)


# --- the feature classifier ----------------------------------------------------------------
class FeatureClassifier(nn.Module):
    """`x [..., D] -> logits [..., num_classes]` through ReLU layers `hidden`; the last
    hidden layer is the feature map."""

    num_classes: int
    hidden: Sequence[int] = (256, 128)

    @nn.compact
    def __call__(self, x: jax.Array, *, features_only: bool = False) -> jax.Array:
        for i, size in enumerate(self.hidden):
            x = nn.relu(nn.Dense(size, name=f"dense_{i}")(x))
        if features_only:
            return x  # [..., hidden[-1]]
        return nn.Dense(self.num_classes, name="logits")(x)


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """`extractor(x [N, D]) -> features [N, d]` (numpy) of a trained `FeatureClassifier`."""

    model: FeatureClassifier
    params: Any
    test_accuracy: float

    def __call__(self, x: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        x = np.asarray(x, np.float32)
        chunks = [x[i : i + batch_size] for i in range(0, len(x), batch_size)]
        return np.concatenate(
            [np.asarray(_features_of(self.model, self.params, c)) for c in chunks]
        )


@partial(jax.jit, static_argnums=0)
def _features_of(model: FeatureClassifier, params: Any, x: jax.Array) -> jax.Array:
    return model.apply({"params": params}, x, features_only=True)


def _classifier_loss(model: FeatureClassifier):
    def loss_fn(params, batch, key):
        del key
        x, y = batch
        logits = model.apply({"params": params}, x)
        loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
        return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}

    return loss_fn


def feature_extractor(
    ds: Dataset,
    *,
    cache_dir: str | os.PathLike | None = None,
    seed: int = 0,
    steps: int = 2000,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    hidden: Sequence[int] = (256, 128),
) -> FeatureExtractor:
    """Train (or restore from `cache_dir`) a `FeatureClassifier` on `ds`'s labelled
    training set; its accuracy on `ds`'s test set comes with it."""
    from genjax.train import TrainState, fit, make_train_step

    if ds.y_train is None or ds.num_classes is None:
        raise ValueError(f"{ds.name}: the FID feature classifier needs class labels")
    model = FeatureClassifier(ds.num_classes, tuple(hidden))
    key = jax.random.key(seed)
    init_key, train_key = jax.random.split(key)
    params = model.init(init_key, jnp.zeros((1, ds.input_dim)))["params"]
    checkpointer = None if cache_dir is None else Checkpointer(cache_dir, keep=1)
    if checkpointer is not None and checkpointer.latest_step() == steps:
        params = checkpointer.restore(params, steps)
    else:
        tx = optax.adam(learning_rate)
        state, _ = fit(
            make_train_step(_classifier_loss(model), tx),
            TrainState.create(params, tx),
            (jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)),
            train_key,
            num_steps=steps,
            batch_size=batch_size,
            steps_per_call=min(steps, 500),
            progress=False,
        )
        params = state.params
        if checkpointer is not None:
            checkpointer.save(steps, params)
    logits = model.apply({"params": params}, jnp.asarray(ds.x_test))
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == jnp.asarray(ds.y_test)))
    if checkpointer is not None:
        checkpointer.close()
    return FeatureExtractor(model, params, accuracy)
