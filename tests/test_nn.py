import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import Autoencoder, preset
from genjax.nn import MLP, count_params


def dense_count(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def init(model, dim):
    return model.init(jax.random.key(0), jnp.zeros((1, dim)))["params"]


def test_mlp_shapes_and_linear_last_layer():
    model = MLP((5, 3))
    x = jnp.ones((4, 7))
    params = init(model, 7)
    assert model.apply({"params": params}, x).shape == (4, 3)
    assert count_params(params) == dense_count([7, 5, 3])
    # the last layer is linear: negative outputs are possible
    out = model.apply({"params": params}, -10 * jax.random.normal(jax.random.key(1), (64, 7)))
    assert (out < 0).any()


@pytest.mark.parametrize("hidden", [(), (32,), (48, 24)])
def test_autoencoder_is_a_symmetric_sandwich(hidden):
    model = Autoencoder(64, hidden, 8)
    params = init(model, 64)
    sizes = [64, *hidden, 8]
    assert count_params(params) == dense_count(sizes) + dense_count(sizes[::-1])
    x = jnp.ones((3, 64))
    assert model.apply({"params": params}, x).shape == (3, 64)
    assert model.apply({"params": params}, x, method="encode").shape == (3, 8)
    decoder_kernels = [leaf.shape for leaf in jax.tree.leaves(params["decoder"]) if leaf.ndim == 2]
    assert decoder_kernels == [(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=False)][::-1]


def test_tied_autoencoder_has_about_half_the_weights():
    sizes = [64, 256, 128, 16]
    untied = count_params(init(Autoencoder(64, (256, 128), 16), 64))
    tied = count_params(init(Autoencoder(64, (256, 128), 16, tied=True), 64))
    kernels = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    assert untied - tied == kernels  # exactly the decoder's kernels are gone
    assert tied == dense_count(sizes) + sum(sizes[:-1])  # encoder + decoder biases
    assert 0.45 < tied / untied < 0.55


def test_tied_decoder_uses_the_encoder_kernels_transposed():
    model = Autoencoder(6, (4,), 2, tied=True)
    params = init(model, 6)
    z = jax.random.normal(jax.random.key(2), (5, 2))
    out = model.apply({"params": params}, z, method="decode")
    k1 = params["encoder"]["mlp"]["dense_0"]["kernel"]  # [6, 4]
    k2 = params["encoder"]["mlp"]["dense_1"]["kernel"]  # [4, 2]
    b = params["decoder"]
    expected = jax.nn.relu(z @ k2.T + b["bias_0"]) @ k1.T + b["bias_1"]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_presets_are_under_and_overcomplete_configurations():
    under, _ = preset("undercomplete", 64, hidden=(), latent_dim=None)
    over, _ = preset("overcomplete", 64, hidden=(), latent_dim=None)
    assert under.latent_dim < 64 < over.latent_dim
    denoising, corrupted = preset("denoising", 64, hidden=(32,), latent_dim=8)
    stacked, clean = preset("stacked", 64, hidden=(32,), latent_dim=8)
    assert denoising == stacked and corrupted and not clean
    with pytest.raises(ValueError, match="overcomplete needs latent_dim > 64"):
        preset("overcomplete", 64, hidden=(), latent_dim=10)
    with pytest.raises(ValueError, match="undercomplete needs latent_dim < 64"):
        preset("undercomplete", 64, hidden=(), latent_dim=64)
    with pytest.raises(ValueError, match="unknown autoencoder model 'vae'; choose from"):
        preset("vae", 64, hidden=(), latent_dim=None)
