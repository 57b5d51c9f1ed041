"""2-D convolutions whose forward and backward passes are all canonical convolutions.

XLA:CPU runs a convolution fast (Eigen) only in its canonical form: NHWC input, HWIO
kernel, NHWC output (`dim_labels=b01f_01io->b01f`). JAX's gradient rules express the input
gradient with a kernel read as HWOI and the kernel gradient with batch and feature swapped
(`f01b_i01o->01bf`). At the top level of a program XLA inserts the transposes that make
them canonical; inside a loop body (`lax.scan`, `lax.while_loop`, hence inside `fit`) it
does not (jax-ml/jax#12868), and falls back to a generic convolution loop: measured on the
2-core development CPU, a conv-autoencoder step took 140 ms alone and 5.9 s inside a
10-step `lax.scan`. The rules below write every convolution canonically, with the
transposes explicit, so a step costs the same inside and outside a loop.

For `y = conv(x, w)` with strides `s` and padding `(lo, hi)` per spatial axis,
    y[b, i, j, o] = Σ_{di, dj, c} x_pad[b, s·i + di, s·j + dj, c] · w[di, dj, c, o],
the two gradients, given `g = ∂L/∂y`, are convolutions too:
    ∂L/∂x = conv(dilate_s(g), flip(w)ᵀ)   (w flipped in space, in/out channels swapped),
    ∂L/∂w[di, dj, c, o] = Σ_{b, i, j} x_pad[b, s·i + di, s·j + dj, c] · g[b, i, j, o]
          = conv(xᵀ, gᵀ) with the batch axis as the contracted "channel" axis and g's
            spatial axes dilated by s.
A stride-`s` transposed convolution is the adjoint `x ↦ ∂⟨conv(u, w), x⟩/∂u`, so it reuses
the same three convolutions with the roles exchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")  # the canonical form on XLA:CPU
Pairs = tuple[tuple[int, int], ...]


def _conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], padding: Pairs):
    """`x [B, H, W, I]`, `kernel [kh, kw, I, O]` -> `[B, Ho, Wo, O]`."""
    return lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=_DIMENSIONS)


def _input_gradient(g, kernel, input_size, strides, padding: Pairs):
    """∂⟨conv(x, kernel), g⟩/∂x: `g [B, Ho, Wo, O]` -> `[B, H, W, I]`."""
    flipped = jnp.flip(kernel, (0, 1)).swapaxes(2, 3)  # [kh, kw, O, I]
    pads = tuple(
        (k - 1 - lo, n - (m - 1) * s + lo - 1)
        for n, m, k, s, (lo, _) in zip(
            input_size, g.shape[1:3], kernel.shape[:2], strides, padding, strict=True
        )
    )
    return lax.conv_general_dilated(
        g, flipped, (1, 1), pads, lhs_dilation=strides, dimension_numbers=_DIMENSIONS
    )


def _kernel_gradient(x, g, kernel_size, strides, padding: Pairs):
    """∂⟨conv(x, w), g⟩/∂w: `x [B, H, W, I]`, `g [B, Ho, Wo, O]` -> `[kh, kw, I, O]`."""
    pads = tuple(
        (lo, k + (m - 1) * s - n - lo)
        for n, m, k, s, (lo, _) in zip(
            x.shape[1:3], g.shape[1:3], kernel_size, strides, padding, strict=True
        )
    )
    w = lax.conv_general_dilated(
        x.transpose(3, 1, 2, 0),  # [I, H, W, B]: channels as the batch, examples as features
        g.transpose(1, 2, 0, 3),  # [Ho, Wo, B, O]
        (1, 1),
        pads,
        rhs_dilation=strides,
        dimension_numbers=_DIMENSIONS,
    )  # [I, kh, kw, O]
    return w.transpose(1, 2, 0, 3)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], padding: Pairs) -> jax.Array:
    """`x [B, H, W, I]`, `kernel [kh, kw, I, O]` -> `[B, Ho, Wo, O]`, the same values as
    `lax.conv_general_dilated(x, kernel, strides, padding)` in NHWC/HWIO, with canonical
    gradients. `padding` holds explicit `(lo, hi)` pairs (see `lax.padtype_to_pads`)."""
    return _conv(x, kernel, strides, padding)


def _conv_forward(x, kernel, strides, padding):
    return _conv(x, kernel, strides, padding), (x, kernel)


def _conv_backward(strides, padding, residuals, g):
    x, kernel = residuals
    return (
        _input_gradient(g, kernel, x.shape[1:3], strides, padding),
        _kernel_gradient(x, g, kernel.shape[:2], strides, padding),
    )


conv.defvjp(_conv_forward, _conv_backward)


def _explicit_padding(size, kernel_size, strides, padding) -> Pairs:
    """`(lo, hi)` per spatial axis for "SAME" / "VALID", or the pairs given."""
    if isinstance(padding, str):
        return tuple(lax.padtype_to_pads(size, kernel_size, strides, padding))
    return tuple(tuple(pair) for pair in padding)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_transpose(x: jax.Array, kernel: jax.Array, strides: tuple[int, int]) -> jax.Array:
    """`x [B, H, W, C_in]`, `kernel [kh, kw, C_out, C_in]` -> `[B, sH·H, sW·W, C_out]`:
    the adjoint of the SAME-padded stride-`s` convolution with `kernel` (the values of
    `lax.conv_transpose(..., "SAME", transpose_kernel=True)`)."""
    output_size = (strides[0] * x.shape[1], strides[1] * x.shape[2])
    padding = _explicit_padding(output_size, kernel.shape[:2], strides, "SAME")
    return _input_gradient(x, kernel, output_size, strides, padding)


def _transpose_forward(x, kernel, strides):
    return conv_transpose(x, kernel, strides), (x, kernel)


def _transpose_backward(strides, residuals, g):
    x, kernel = residuals  # g [B, sH·H, sW·W, C_out] is the input of the convolution
    padding = _explicit_padding(g.shape[1:3], kernel.shape[:2], strides, "SAME")
    return (
        _conv(g, kernel, strides, padding),
        _kernel_gradient(g, x, kernel.shape[:2], strides, padding),
    )


conv_transpose.defvjp(_transpose_forward, _transpose_backward)


def _flatten_batch(layer):
    """Runs `layer` on `[..., H, W, C]` by folding the leading axes into one batch axis."""

    def apply(x: jax.Array) -> jax.Array:
        y = layer(x.reshape(-1, *x.shape[-3:]))
        return y.reshape(*x.shape[:-3], *y.shape[1:])

    return apply


class Conv(nn.Module):
    """`[..., H, W, C_in] -> [..., Ho, Wo, features]`: `nn.Conv(features, kernel_size,
    strides, padding)` with the same parameters (`kernel [kh, kw, C_in, features]`,
    LeCun-normal; `bias` zeros) and canonical gradients. `padding`: "SAME", "VALID" or
    explicit `(lo, hi)` pairs."""

    features: int
    kernel_size: Sequence[int] = (3, 3)
    strides: Sequence[int] = (1, 1)
    padding: str | Sequence[tuple[int, int]] = "SAME"
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel",
            nn.initializers.lecun_normal(),
            (*self.kernel_size, x.shape[-1], self.features),
        )
        strides = tuple(self.strides)
        padding = _explicit_padding(x.shape[-3:-1], self.kernel_size, strides, self.padding)
        y = _flatten_batch(lambda x: conv(x, kernel, strides, padding))(x)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y


class ConvTranspose(nn.Module):
    """`[..., H, W, C_in] -> [..., s·H, s·W, features]`, the maths of
    `nn.ConvTranspose(features, kernel_size, strides, padding="SAME")` with canonical
    gradients. The kernel is stored as `[kh, kw, features, C_in]`, the layout of the
    convolution it transposes.
    """

    features: int
    kernel_size: Sequence[int] = (3, 3)
    strides: Sequence[int] = (2, 2)
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(
            "kernel",
            nn.initializers.lecun_normal(in_axis=(0, 1, 3), out_axis=2),
            (*self.kernel_size, self.features, x.shape[-1]),
        )
        strides = tuple(self.strides)
        y = _flatten_batch(lambda x: conv_transpose(x, kernel, strides))(x)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y
