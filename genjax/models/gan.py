"""How a dataset meets the GAN nets: the arrays the players see, the generator's output,
the architecture and the latent size. Shared by experiments/gan.py and
experiments/coevolution.py; the players and their losses live in `genjax.nn.gan` and
`genjax.train.gan`."""

from __future__ import annotations

import numpy as np

from genjax.data import Dataset, standardize
from genjax.data.synthetic import MIXTURES


def gan_data(ds: Dataset) -> tuple[np.ndarray, np.ndarray, str]:
    """`(x_train, x_test, output_activation)` as the GAN sees them: the Gaussian mixtures'
    raw coordinates with a linear output (the mode metrics live there), data in [0, 1]
    (images) with a sigmoid output, other features standardized with a linear output."""
    if ds.x_train.ndim != 2:
        raise ValueError(f"{ds.name}: the GAN nets need [N, D] inputs, got {ds.x_train.shape}")
    x_train, x_test = ds.x_train, ds.x_test
    if ds.name in MIXTURES:
        return x_train, x_test, "linear"
    if x_train.min() >= 0 and x_train.max() <= 1:
        return x_train, x_test, "sigmoid"
    return (*standardize(x_train, x_test), "linear")  # unbounded features


def default_architecture(image_shape: tuple[int, int, int] | None) -> str:
    """ "dcgan" for images of at least 16×16 with sides divisible by 4 (its two stride-2
    stages), "mlp" otherwise: on the 8×8 digits the MLP pair reached a far lower FID at a
    third of the DCGAN's time per step."""
    if image_shape is not None and min(image_shape[:2]) >= 16:
        if image_shape[0] % 4 == 0 == image_shape[1] % 4:
            return "dcgan"
    return "mlp"


def default_latent_dim(input_dim: int) -> int:
    """2 for 2-D points, 32 otherwise."""
    return 2 if input_dim == 2 else 32
