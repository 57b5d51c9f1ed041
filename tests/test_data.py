import numpy as np
import pytest

import genjax.data as gdata
from genjax.data import idx


def test_digits_is_embedded_split_and_scaled():
    ds = gdata.load("digits")
    assert ds.x_train.shape[1:] == (64,) and ds.image_shape == (8, 8, 1)
    assert len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() == 1
    assert set(np.unique(ds.y_train)) == set(range(10))
    again = gdata.load("digits")
    np.testing.assert_array_equal(ds.x_test, again.x_test)  # fixed, seeded split
    other = gdata.load("digits", seed=1)
    assert not np.array_equal(ds.x_test, other.x_test)
    train_rows = {row.tobytes() for row in ds.x_train}
    assert sum(row.tobytes() in train_rows for row in ds.x_test) < 5  # disjoint (bar duplicates)


def test_breast_cancer_is_embedded():
    ds = gdata.load("breast_cancer")
    assert ds.x_train.shape[1] == 30 and (ds.x_train >= 0).all() and ds.num_classes == 2


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnits'; choose from .*digits.*mnist"):
        gdata.load("mnits")


def test_idx_round_trip_and_bad_files(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    for name in ("a.idx", "a.idx.gz"):
        idx.write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(idx.read_idx(tmp_path / name), array)
    (tmp_path / "bad").write_bytes(b"\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="bad magic number"):
        idx.read_idx(tmp_path / "bad")
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated"):
        idx.read_idx(tmp_path / "short")


def write_tiny_mnist(directory, n_train=20, n_test=8):
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), ("test", n_test)):
        idx.write_idx(
            directory / (idx.FILES[(part, "images")] + ".gz"),
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        idx.write_idx(
            directory / (idx.FILES[(part, "labels")] + ".gz"),
            rng.integers(0, 10, (n,), dtype=np.uint8),
        )


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_format_from_local_idx_files(tmp_path, name):
    write_tiny_mnist(tmp_path)
    ds = gdata.load(name, data_dir=str(tmp_path))
    assert ds.x_train.shape == (20, 784) and ds.x_test.shape == (8, 784)
    assert ds.image_shape == (28, 28, 1) and ds.y_train.dtype == np.int32
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    raw = idx.read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(ds.x_train[3], raw[3].reshape(-1) / 255.0, rtol=1e-6)


def test_missing_dataset_says_how_to_provide_it(tmp_path):
    with pytest.raises(
        gdata.DatasetUnavailableError, match=r"mnist: pass --data-dir DIR holding the IDX files"
    ):
        gdata.load("mnist", data_dir=str(tmp_path))


def test_split_tool_makes_a_train_test_pair_from_the_test_set(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    write_tiny_mnist(src, n_train=0, n_test=30)
    (src / "train-images-idx3-ubyte.gz").unlink()
    (src / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(gdata.DatasetUnavailableError, match="genjax.data.idx split"):
        gdata.load("mnist", data_dir=str(src))
    idx.split_test_set(str(src), str(dst), n_test=10)
    ds = gdata.load("mnist", data_dir=str(dst))
    assert len(ds.x_train) == 20 and len(ds.x_test) == 10


def test_validate_names_bad_arrays():
    x = np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 2, 1], np.int32)
    x_nan = x.copy()
    x_nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="x_train has NaN or Inf in 1 examples"):
        gdata.validate(gdata.Dataset("t", x_nan, y, x, y, num_classes=3))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        gdata.validate(gdata.Dataset("t", x, y, x, y, num_classes=2))
    with pytest.raises(ValueError, match=r"x_test must be \[N, ...\]"):
        gdata.validate(gdata.Dataset("t", x, y, np.zeros(3, np.float32), None))
