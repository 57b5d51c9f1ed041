"""Generators and discriminators: MLPs for vectors (2-D points, tables) and DCGAN-style
convolutional nets for images.

Every net maps flat vectors, so it plugs into `genjax.data` arrays directly:

- generators: `z [..., latent_dim] -> x [..., output_dim]` (images flattened row-major from
  `image_shape = (H, W, C)`), with a linear or sigmoid output;
- discriminators: `x [..., D] -> [...]`, one unbounded scalar per example (a logit, a critic
  score or a regression output, depending on the loss).

Pure linen modules: no batch statistics (batch norm would make an example's output depend
on its batch, which breaks the per-example gradient penalty); the convolutional generator
normalizes with LayerNorm instead. DCGAN (Radford et al. 2016): strided (transposed)
convolutions instead of pooling, ReLU in the generator, LeakyReLU(0.2) in the discriminator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax

from genjax.nn.convolution import Conv, ConvTranspose
from genjax.nn.mlp import MLP

OUTPUT_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "linear": lambda x: x,
    "sigmoid": nn.sigmoid,
    "tanh": nn.tanh,
}


def _output_activation(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"unknown output activation {name!r}; choose from {list(OUTPUT_ACTIVATIONS)}"
        )
    return OUTPUT_ACTIVATIONS[name]


def leaky_relu(x: jax.Array) -> jax.Array:
    """LeakyReLU with slope 0.2, the DCGAN discriminator's activation."""
    return nn.leaky_relu(x, 0.2)


class MLPGenerator(nn.Module):
    """`z [..., L] -> out(MLP(z)) [..., output_dim]` through `hidden` ReLU layers."""

    output_dim: int
    hidden: Sequence[int] = (256, 256, 256)
    output_activation: str = "linear"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        x = MLP((*self.hidden, self.output_dim), nn.relu, name="mlp")(z)
        return _output_activation(self.output_activation)(x)


class MLPDiscriminator(nn.Module):
    """`x [..., D] -> [...]` through `hidden` LeakyReLU(0.2) layers and a linear unit."""

    hidden: Sequence[int] = (256, 256, 256)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return MLP((*self.hidden, 1), leaky_relu, name="mlp")(x)[..., 0]


def _check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(image_shape) != 3 or image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(
            f"DCGAN nets need an (H, W, C) image shape with H and W divisible by 4, "
            f"got {tuple(image_shape)}"
        )
    return tuple(int(s) for s in image_shape)


class DCGANGenerator(nn.Module):
    """`z [..., L] -> image [..., H·W·C]`: a dense layer to an `H/4 × W/4 × 2F` map, then two
    stride-2 transposed convolutions (`H/4 -> H/2 -> H`); LayerNorm and ReLU in between.

    For 8×8 digits the map grows 2×2 -> 4×4 -> 8×8, for 28×28 MNIST 7×7 -> 14×14 -> 28×28.
    """

    image_shape: tuple[int, int, int]
    features: int = 64
    output_activation: str = "sigmoid"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        height, width, channels = _check_image_shape(self.image_shape)
        batch_shape = z.shape[:-1]
        z = z.reshape(-1, z.shape[-1])  # [B, L]
        h = nn.Dense(height // 4 * width // 4 * 2 * self.features, name="project")(z)
        h = h.reshape(-1, height // 4, width // 4, 2 * self.features)  # [B, H/4, W/4, 2F]
        h = nn.relu(nn.LayerNorm(name="norm_0")(h))
        h = ConvTranspose(self.features, (4, 4), (2, 2), name="deconv_0")(h)
        h = nn.relu(nn.LayerNorm(name="norm_1")(h))  # [B, H/2, W/2, F]
        h = ConvTranspose(channels, (4, 4), (2, 2), name="deconv_1")(h)
        x = _output_activation(self.output_activation)(h)  # [B, H, W, C]
        return x.reshape(*batch_shape, height * width * channels)


class DCGANDiscriminator(nn.Module):
    """`image [..., H·W·C] -> [...]`: two stride-2 convolutions (`F`, `2F` channels) with
    LeakyReLU(0.2), then a linear unit on the flattened `H/4 × W/4 × 2F` map."""

    image_shape: tuple[int, int, int]
    features: int = 64

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        height, width, channels = _check_image_shape(self.image_shape)
        batch_shape = x.shape[:-1]
        h = x.reshape(-1, height, width, channels)  # [B, H, W, C]
        h = leaky_relu(Conv(self.features, (4, 4), (2, 2), padding="SAME", name="conv_0")(h))
        h = Conv(2 * self.features, (4, 4), (2, 2), padding="SAME", name="conv_1")(h)
        h = leaky_relu(h).reshape(h.shape[0], -1)  # [B, H/4 · W/4 · 2F]
        return nn.Dense(1, name="logit")(h)[:, 0].reshape(batch_shape)


ARCHITECTURES = ("mlp", "dcgan")


def make_gan_nets(
    architecture: str,
    *,
    data_dim: int,
    image_shape: tuple[int, int, int] | None = None,
    hidden: Sequence[int] = (256, 256, 256),
    features: int = 64,
    output_activation: str = "linear",
) -> tuple[nn.Module, nn.Module]:
    """`(generator, discriminator)` of `architecture` ("mlp" or "dcgan") for data of
    `data_dim` features (DCGAN: images of `image_shape`)."""
    if architecture == "mlp":
        return (
            MLPGenerator(data_dim, tuple(hidden), output_activation),
            MLPDiscriminator(tuple(hidden)),
        )
    if architecture == "dcgan":
        if image_shape is None:
            raise ValueError("the dcgan architecture needs image data (an image_shape)")
        shape = _check_image_shape(image_shape)
        if math.prod(shape) != data_dim:
            raise ValueError(f"image shape {shape} does not hold {data_dim} features")
        return (
            DCGANGenerator(shape, features, output_activation),
            DCGANDiscriminator(shape, features),
        )
    raise ValueError(
        f"unknown architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}"
    )
