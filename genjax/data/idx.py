"""Reading and writing the IDX format of MNIST and Fashion-MNIST (optionally gzipped).

An IDX file is a big-endian header `0 0 <dtype code> <ndim>`, `ndim` uint32 sizes, then
the raw array. Only unsigned bytes (code 0x08) are used by these datasets.

    python -m genjax.data.idx split ../shared/data/mnist data/mnist10k --test 2000

writes the four standard files from MNIST's test set alone, for offline runs on real digits.
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
from pathlib import Path

import numpy as np

UBYTE = 0x08
FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The uint8 array stored in an IDX file; a clear error if it is not one."""
    path = Path(path)
    with _open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {body.size} bytes (truncated?)")
    return body.reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    with _open(Path(path), "wb") as f:
        f.write(bytes([0, 0, UBYTE, array.ndim]))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.tobytes())


def find(data_dir: str | os.PathLike, part: str, what: str) -> Path | None:
    """The path of a standard file in `data_dir`, gzipped or not, or None."""
    stem = FILES[(part, what)]
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz"):
        if (Path(data_dir) / name).exists():
            return Path(data_dir) / name
    return None


def split_test_set(src: str, dst: str, n_test: int, seed: int = 0) -> None:
    """Write the standard four files into `dst` from the t10k files in `src`."""
    images = read_idx(find(src, "test", "images"))
    labels = read_idx(find(src, "test", "labels"))
    order = np.random.default_rng(seed).permutation(len(images))
    os.makedirs(dst, exist_ok=True)
    for part, idx in (("test", order[:n_test]), ("train", order[n_test:])):
        write_idx(Path(dst) / (FILES[(part, "images")] + ".gz"), images[idx])
        write_idx(Path(dst) / (FILES[(part, "labels")] + ".gz"), labels[idx])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("split", help="make train/test IDX files from a t10k pair")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--test", type=int, default=2000, help="examples kept for the test part")
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    split_test_set(args.src, args.dst, args.test, args.seed)
    print(f"wrote {args.dst}")


if __name__ == "__main__":
    main()
