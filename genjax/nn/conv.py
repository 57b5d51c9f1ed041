"""Convolutional encoder and decoder for images `[B, H, W, C]`.

The encoder is an ordinary CNN that shrinks the spatial size and grows the depth: each of
its `len(features)` stages is a stride-2 convolution (SAME padding, so `H -> ⌈H/2⌉`) with
`features[i]` channels, then the grid is flattened into a linear `Dense` head.
The decoder does the inverse: a `Dense` layer to a grid of `⌈H/2^n⌉ × ⌈W/2^n⌉ × features[0]`
(`n = len(features)`), `n` stride-2 transposed convolutions (`H -> 2H`) with
`features[0], features[1], …` channels (`genjax.nn.convolution.ConvTranspose`: the
maths of `nn.ConvTranspose` with SAME padding, with gradients that stay on XLA:CPU's fast
convolution path inside training loops), and a linear stride-1 convolution to the image's
`C` channels; the output is cropped to exactly `H × W` (needed when `H` or `W` is not a
multiple of `2^n`, e.g. 7 or 28 with three stages). The output is linear: logits for a
Bernoulli decoder, the mean for a Gaussian one.

    enc = ConvEncoder(features=(32, 64), output_dim=16)
    # [B, 28, 28, 1] -> [B, 14, 14, 32] -> [B, 7, 7, 64] -> [B, 16]
    dec = ConvDecoder(image_shape=(28, 28, 1), features=(64, 32))
    # [B, 16] -> [B, 7, 7, 64] -> [B, 14, 14, 64] -> [B, 28, 28, 32] -> [B, 28, 28, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax

from genjax.nn.convolution import Conv, ConvTranspose


class ConvEncoder(nn.Module):
    """`x [..., H, W, C] -> [..., output_dim]`: stride-2 convolutions, then a linear head.

    Layers are named `conv_0 … conv_{n-1}` and `head`.
    """

    features: Sequence[int] = (32, 64)
    output_dim: int = 16
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    kernel_size: int = 3

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim < 3:
            raise ValueError(f"ConvEncoder needs images [..., H, W, C], got shape {x.shape}")
        k = self.kernel_size
        for i, channels in enumerate(self.features):
            # [..., H, W, C] -> [..., ⌈H/2⌉, ⌈W/2⌉, channels]
            x = Conv(channels, (k, k), strides=(2, 2), padding="SAME", name=f"conv_{i}")(x)
            x = self.activation(x)
        x = x.reshape(*x.shape[:-3], -1)  # [..., h·w·c]
        return nn.Dense(self.output_dim, name="head")(x)  # [..., output_dim]


class ConvDecoder(nn.Module):
    """`z [..., d] -> [..., H, W, C]` for `image_shape = (H, W, C)`: a `Dense` layer to a
    small grid, stride-2 transposed convolutions, a linear convolution to `C` channels.

    Layers are named `dense`, `deconv_0 … deconv_{n-1}` and `output`.
    """

    image_shape: tuple[int, int, int]
    features: Sequence[int] = (64, 32)
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    kernel_size: int = 3

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (H, W, C) >= 1, got {self.image_shape}")
        if not self.features:
            raise ValueError("ConvDecoder needs at least one feature size")
        height, width, channels = self.image_shape
        scale = 2 ** len(self.features)
        grid = (math.ceil(height / scale), math.ceil(width / scale), self.features[0])
        k = self.kernel_size
        h = nn.Dense(math.prod(grid), name="dense")(z)  # [..., h0·w0·f0]
        h = self.activation(h).reshape(*z.shape[:-1], *grid)  # [..., h0, w0, f0]
        for i, size in enumerate(self.features):
            # [..., h, w, ·] -> [..., 2h, 2w, size]
            h = ConvTranspose(size, (k, k), strides=(2, 2), name=f"deconv_{i}")(h)
            h = self.activation(h)
        h = Conv(channels, (k, k), padding="SAME", name="output")(h)  # [..., ≥H, ≥W, C]
        return h[..., :height, :width, :]  # [..., H, W, C]
