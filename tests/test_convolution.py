import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.test_util import check_grads

from genjax.nn.convolution import Conv, ConvTranspose, conv, conv_transpose

DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def reference_transpose(x, kernel, strides):
    return lax.conv_transpose(
        x, kernel, strides, "SAME", dimension_numbers=DIMENSIONS, transpose_kernel=True
    )


def assert_same_values_and_gradients(ours, theirs, x, kernel):
    np.testing.assert_allclose(ours(x, kernel), theirs(x, kernel), rtol=1e-5, atol=1e-5)

    def loss(f):
        return lambda x, k: jnp.sum(jnp.sin(f(x, k)))

    ours_grads = jax.grad(loss(ours), argnums=(0, 1))(x, kernel)
    theirs_grads = jax.grad(loss(theirs), argnums=(0, 1))(x, kernel)
    for a, b in zip(ours_grads, theirs_grads, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    check_grads(ours, (x, kernel), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize(
    ("shape", "kernel_size", "strides", "padding"),
    [
        ((2, 8, 8, 3), (3, 3), (2, 2), "SAME"),
        ((1, 7, 5, 2), (4, 4), (2, 2), "SAME"),
        ((2, 6, 7, 2), (3, 3), (2, 2), "VALID"),  # the last row and column go unused
        ((2, 5, 5, 4), (3, 3), (1, 1), ((2, 0), (1, 1))),
    ],
)
def test_conv_matches_lax_and_its_gradients(shape, kernel_size, strides, padding):
    x = jax.random.normal(jax.random.key(0), shape)
    kernel = jax.random.normal(jax.random.key(1), (*kernel_size, shape[-1], 5))
    pads = (
        tuple(lax.padtype_to_pads(shape[1:3], kernel_size, strides, padding))
        if isinstance(padding, str)
        else padding
    )
    assert_same_values_and_gradients(
        lambda x, k: conv(x, k, strides, pads),
        lambda x, k: lax.conv_general_dilated(x, k, strides, padding, dimension_numbers=DIMENSIONS),
        x,
        kernel,
    )


@pytest.mark.parametrize(
    ("shape", "kernel_size", "strides"),
    [
        ((2, 4, 4, 3), (3, 3), (2, 2)),
        ((1, 7, 5, 2), (4, 4), (2, 2)),
        ((2, 3, 3, 4), (3, 3), (1, 1)),
    ],
)
def test_conv_transpose_matches_lax_and_its_gradients(shape, kernel_size, strides):
    x = jax.random.normal(jax.random.key(0), shape)
    kernel = jax.random.normal(jax.random.key(1), (*kernel_size, 5, shape[-1]))
    out = conv_transpose(x, kernel, strides)
    assert out.shape == (shape[0], strides[0] * shape[1], strides[1] * shape[2], 5)
    assert_same_values_and_gradients(
        lambda x, k: conv_transpose(x, k, strides),
        lambda x, k: reference_transpose(x, k, strides),
        x,
        kernel,
    )


def test_gradients_inside_a_loop_compile_to_canonical_convolutions():
    """XLA:CPU leaves non-canonical convolutions inside loop bodies on a slow generic path
    (jax-ml/jax#12868); every convolution of a training loop must be NHWC/HWIO/NHWC."""
    x = jnp.ones((4, 8, 8, 3))
    conv_kernel = jnp.ones((3, 3, 3, 6))
    transpose_kernel = jnp.ones((3, 3, 2, 6))

    def loss(kernels):
        h = jax.nn.relu(conv(x, kernels[0], (2, 2), ((0, 1), (0, 1))))  # [4, 4, 4, 6]
        return jnp.sum(conv_transpose(h, kernels[1], (2, 2)) ** 2)  # [4, 8, 8, 2]

    def train(kernels):
        def body(_, kernels):
            grads = jax.grad(loss)(kernels)
            return jax.tree.map(lambda k, g: k - 1e-3 * g, kernels, grads)

        return lax.fori_loop(0, 3, body, kernels)

    hlo = jax.jit(train).lower((conv_kernel, transpose_kernel)).compile().as_text()
    labels = re.findall(r"convolution\(.*?dim_labels=(\S+?),", hlo)
    assert len(labels) >= 5  # forward ×2, input gradient, kernel gradient ×2
    assert set(labels) == {"b01f_01io->b01f"}


def test_conv_module_has_the_parameters_and_outputs_of_flax_conv():
    x = jax.random.normal(jax.random.key(0), (2, 3, 9, 9, 4))  # two leading batch axes
    ours = Conv(8, (3, 3), strides=(2, 2), padding="SAME")
    theirs = nn.Conv(8, (3, 3), strides=(2, 2), padding="SAME")
    params = ours.init(jax.random.key(1), x)["params"]
    flax_params = theirs.init(jax.random.key(1), x)["params"]
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_params)
    np.testing.assert_allclose(params["kernel"], flax_params["kernel"])  # same initializer
    out = ours.apply({"params": params}, x)
    assert out.shape == (2, 3, 5, 5, 8)
    np.testing.assert_allclose(out, theirs.apply({"params": params}, x), rtol=1e-5, atol=1e-5)


def test_transpose_module_upsamples_with_leading_batch_axes():
    layer = ConvTranspose(6)
    x = jnp.ones((2, 3, 4, 4, 8))
    params = layer.init(jax.random.key(0), x)["params"]
    assert params["kernel"].shape == (3, 3, 6, 8) and params["bias"].shape == (6,)
    assert layer.apply({"params": params}, x).shape == (2, 3, 8, 8, 6)
