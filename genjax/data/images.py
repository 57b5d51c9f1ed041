"""Image datasets: MNIST, Fashion-MNIST and CIFAR-10 through tensorflow-datasets, or
MNIST-format IDX files read directly from `data_dir` (no network, no TensorFlow)."""

from __future__ import annotations

import numpy as np

from genjax.data import idx
from genjax.data.dataset import Dataset, DatasetUnavailableError
from genjax.data.registry import register

_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
_IDX_FORMAT = ("mnist", "fashion_mnist")


def _how_to_provide(name: str, data_dir: str | None) -> str:
    if name in _IDX_FORMAT:
        files = ", ".join(stem + ".gz" for stem in idx.FILES.values())
        offline = f"pass --data-dir DIR holding the IDX files ({files})"
        if data_dir is not None:
            offline += f"; {data_dir} lacks some of them"
            if idx.find(data_dir, "test", "images") and not idx.find(data_dir, "train", "images"):
                offline += (
                    f" (it has only the test set: `python -m genjax.data.idx split {data_dir} "
                    "DIR` makes a train/test pair from it)"
                )
        return f"{offline}, or run once with internet so tensorflow-datasets can download it"
    return "run once with internet so tensorflow-datasets can download it into its data dir"


def _from_idx(name: str, data_dir: str) -> Dataset:
    paths = {key: idx.find(data_dir, *key) for key in idx.FILES}
    if any(p is None for p in paths.values()):
        raise DatasetUnavailableError(f"{name}: {_how_to_provide(name, data_dir)}")
    arrays = {key: idx.read_idx(p) for key, p in paths.items()}
    return _make(
        name,
        arrays[("train", "images")],
        arrays[("train", "labels")],
        arrays[("test", "images")],
        arrays[("test", "labels")],
    )


def _from_tfds(name: str) -> Dataset:
    try:
        import tensorflow_datasets as tfds

        train, test = tfds.as_numpy(
            tfds.load(name, split=["train", "test"], batch_size=-1, as_supervised=True)
        )
    except Exception as err:  # tfds raises many kinds: no network, no TensorFlow, ...
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetUnavailableError(
            f"{name}: tensorflow-datasets could not load it ({reason}); "
            f"{_how_to_provide(name, None)}"
        ) from err
    return _make(name, train[0], train[1], test[0], test[1])


def _make(name, x_train, y_train, x_test, y_test) -> Dataset:
    shape = _SHAPES[name]

    def prep(x):  # uint8 [N, H, W(, C)] -> float32 [N, H*W*C] in [0, 1]
        x = np.asarray(x)
        if x.shape[1:] != shape and x.shape[1:] != shape[:2]:
            raise ValueError(f"{name}: images have shape {x.shape[1:]}, expected {shape}")
        return (x.reshape(len(x), -1) / 255.0).astype(np.float32)

    return Dataset(
        name,
        prep(x_train),
        np.asarray(y_train, np.int32),
        prep(x_test),
        np.asarray(y_test, np.int32),
        kind="binary",
        image_shape=shape,
        num_classes=10,
    )


def _loader(name: str):
    def load(*, data_dir: str | None = None, limit: int | None = None, **_) -> Dataset:
        if data_dir is not None and name in _IDX_FORMAT:
            ds = _from_idx(name, data_dir)
        else:
            ds = _from_tfds(name)
        if limit is not None:  # first `limit` training examples, for quick runs
            ds = Dataset(
                ds.name,
                ds.x_train[:limit],
                ds.y_train[:limit],
                ds.x_test,
                ds.y_test,
                ds.kind,
                ds.image_shape,
                ds.num_classes,
            )
        return ds

    load.__doc__ = f"{name}: {_SHAPES[name]} images in [0, 1], 10 classes, the standard split."
    return load


for _name in _SHAPES:
    register(_name)(_loader(_name))
