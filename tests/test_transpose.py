import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.test_util import check_grads

from genjax.nn.transpose import ConvTranspose, conv_transpose


def reference(x, kernel, strides):
    return lax.conv_transpose(
        x,
        kernel,
        strides,
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        transpose_kernel=True,
    )


@pytest.mark.parametrize(
    ("shape", "strides"), [((2, 4, 4, 3), (2, 2)), ((1, 7, 5, 2), (2, 2)), ((2, 3, 3, 4), (1, 1))]
)
def test_matches_lax_conv_transpose_and_its_gradients(shape, strides):
    x = jax.random.normal(jax.random.key(0), shape)
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 5, shape[-1]))
    np.testing.assert_allclose(
        conv_transpose(x, kernel, strides), reference(x, kernel, strides), rtol=1e-5, atol=1e-5
    )
    assert conv_transpose(x, kernel, strides).shape == (
        shape[0],
        strides[0] * shape[1],
        strides[1] * shape[2],
        5,
    )

    def loss(f):
        return lambda x, k: jnp.sum(jnp.sin(f(x, k, strides)))

    ours = jax.grad(loss(conv_transpose), argnums=(0, 1))(x, kernel)
    theirs = jax.grad(loss(reference), argnums=(0, 1))(x, kernel)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    check_grads(
        lambda x, k: conv_transpose(x, k, strides),
        (x, kernel),
        order=1,
        modes=["rev"],
        atol=1e-2,
        rtol=1e-2,
    )


def test_module_upsamples_with_leading_batch_axes():
    layer = ConvTranspose(6)
    x = jnp.ones((2, 3, 4, 4, 8))
    params = layer.init(jax.random.key(0), x)["params"]
    assert params["kernel"].shape == (3, 3, 6, 8) and params["bias"].shape == (6,)
    assert layer.apply({"params": params}, x).shape == (2, 3, 8, 8, 6)
