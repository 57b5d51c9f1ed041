"""A transposed convolution whose gradients run on XLA's fast convolution paths.

A stride-`s` transposed convolution is the adjoint of a stride-`s` convolution
`S_w u = conv(u, w, stride s)`: `y = S_w^T x` (`lax.conv_transpose(..., transpose_kernel=True)`).
Its gradients are
    ∂L/∂x = S_w g                    (a strided convolution of the output gradient g)
    ∂L/∂w = ∂_w ⟨S_w g, x⟩           (the kernel gradient of that strided convolution),
both ordinary strided convolutions. JAX's default rule computes ∂L/∂w as an input-dilated
convolution instead, which XLA:CPU runs on a slow generic path: measured on the 2-core
development CPU for a [128, 14, 14, 64] -> [128, 28, 28, 32] layer with a 3×3 kernel, the
gradient took 3.65 s by the default rule and 0.20 s by this one (same values to 2e-6).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _strided_conv(u: jax.Array, kernel: jax.Array, strides: tuple[int, int]) -> jax.Array:
    return lax.conv_general_dilated(u, kernel, strides, "SAME", dimension_numbers=_DIMENSIONS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_transpose(x: jax.Array, kernel: jax.Array, strides: tuple[int, int]) -> jax.Array:
    """`x [B, H, W, C_in]`, `kernel [kh, kw, C_out, C_in]` -> `[B, sH·H, sW·W, C_out]`:
    the adjoint of the SAME-padded strided convolution with `kernel`."""
    batch, height, width, _ = x.shape
    out_shape = (batch, strides[0] * height, strides[1] * width, kernel.shape[2])
    _, adjoint = jax.vjp(lambda u: _strided_conv(u, kernel, strides), jnp.zeros(out_shape, x.dtype))
    return adjoint(x)[0]


def _forward(x, kernel, strides):
    return conv_transpose(x, kernel, strides), (x, kernel)


def _backward(strides, residuals, g):
    x, kernel = residuals
    dx = _strided_conv(g, kernel, strides)
    _, kernel_adjoint = jax.vjp(lambda k: _strided_conv(g, k, strides), kernel)
    return dx, kernel_adjoint(x)[0]


conv_transpose.defvjp(_forward, _backward)


class ConvTranspose(nn.Module):
    """`[..., H, W, C_in] -> [..., s·H, s·W, features]`, a drop-in for
    `nn.ConvTranspose(features, kernel_size, strides, padding="SAME")` with fast gradients.

    The kernel is stored as `[kh, kw, features, C_in]`, the layout of the convolution it
    transposes.
    """

    features: int
    kernel_size: Sequence[int] = (3, 3)
    strides: Sequence[int] = (2, 2)
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        batch_shape = x.shape[:-3]
        x = x.reshape(-1, *x.shape[-3:])  # [B, H, W, C_in]
        kernel = self.param(
            "kernel",
            nn.initializers.lecun_normal(in_axis=(0, 1, 3), out_axis=2),
            (*self.kernel_size, self.features, x.shape[-1]),
        )
        y = conv_transpose(x, kernel, tuple(self.strides))
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y.reshape(*batch_shape, *y.shape[1:])
