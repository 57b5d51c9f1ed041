"""Convolutional and recurrent encoders/decoders, their autoencoders, and sequence data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import genjax.data as gdata
from genjax.data.sequences import as_row_sequences
from genjax.models import ConvAutoencoder, RecurrentAutoencoder
from genjax.nn import ConvDecoder, ConvEncoder, SequenceDecoder, SequenceEncoder, count_params

IMAGE_SHAPES = [(8, 8, 1), (28, 28, 1), (32, 32, 3), (7, 7, 1), (5, 9, 2)]


def init(module, *args):
    return jax.jit(module.init)(jax.random.key(0), *args)["params"]


def output_shape(module, *args, method=None):
    """The output shape of `module` on `args`, traced abstractly (nothing is compiled)."""

    def forward(key, *args):
        params = module.init(key, *args)
        return module.apply(params, *args, method=method)

    return jax.eval_shape(forward, jax.random.key(0), *args).shape


def param_shapes(module, *args):
    return jax.eval_shape(lambda key: module.init(key, *args), jax.random.key(0))["params"]


@pytest.mark.parametrize("image_shape", IMAGE_SHAPES)
def test_conv_encoder_and_decoder_shapes(image_shape):
    x = jnp.ones((3, *image_shape))
    assert output_shape(ConvEncoder(features=(8, 16), output_dim=5), x) == (3, 5)
    decoder = ConvDecoder(image_shape, features=(16, 8))
    assert output_shape(decoder, jnp.ones((3, 5))) == (3, *image_shape)


def test_conv_encoder_halves_the_grid_per_stage_and_counts_params():
    encoder = ConvEncoder(features=(8, 16), output_dim=5, kernel_size=3)
    params = param_shapes(encoder, jnp.ones((1, 28, 28, 1)))
    # 28 -> 14 -> 7: the head sees 7·7·16 features
    assert params["head"]["kernel"].shape == (7 * 7 * 16, 5)
    convs = (3 * 3 * 1 * 8 + 8) + (3 * 3 * 8 * 16 + 16)
    assert count_params(params) == convs + 7 * 7 * 16 * 5 + 5
    decoder = ConvDecoder((28, 28, 1), features=(16, 8))
    dparams = param_shapes(decoder, jnp.ones((1, 5)))
    assert dparams["dense"]["kernel"].shape == (5, 7 * 7 * 16)  # the grid 28 / 2² = 7
    # transposed-convolution kernels [kh, kw, C_out, C_in] (the layout of the conv they transpose)
    assert [dparams[f"deconv_{i}"]["kernel"].shape for i in range(2)] == [
        (3, 3, 16, 16),
        (3, 3, 8, 16),
    ]


def test_conv_modules_take_extra_batch_axes():
    encoder = ConvEncoder(features=(4,), output_dim=3)
    x = jax.random.normal(jax.random.key(1), (2, 4, 8, 8, 1))
    params = init(encoder, x)
    encode = jax.jit(encoder.apply)
    codes = encode({"params": params}, x)
    assert codes.shape == (2, 4, 3)
    np.testing.assert_allclose(codes[1], encode({"params": params}, x[1]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("image_shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3)])
def test_conv_autoencoder_maps_flat_images_to_flat_images(image_shape):
    dim = int(np.prod(image_shape))
    model = ConvAutoencoder(image_shape, features=(4, 8), latent_dim=6)
    x = jnp.ones((2, dim))
    assert output_shape(model, x) == (2, dim)
    assert output_shape(model, x, method="encode") == (2, 6)


def test_conv_modules_reject_bad_shapes():
    encoder = ConvEncoder()
    with pytest.raises(ValueError, match="needs images"):
        output_shape(encoder, jnp.ones((3, 64)))
    with pytest.raises(ValueError, match="image_shape must be"):
        output_shape(ConvDecoder((8, 8)), jnp.ones((1, 4)))


SEQUENCE_SHAPES = [(50, 1), (8, 8), (28, 28)]  # sines, digits by rows, MNIST by rows


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("shape", SEQUENCE_SHAPES)
def test_recurrent_shapes(cell, shape):
    x = jnp.ones((3, *shape))
    assert output_shape(SequenceEncoder(latent_dim=6, hidden=(10,), cell=cell), x) == (3, 6)
    decoder = SequenceDecoder(length=shape[0], output_dim=shape[1], hidden=(10,), cell=cell)
    assert output_shape(decoder, jnp.ones((3, 6))) == (3, *shape)
    model = RecurrentAutoencoder(*shape, hidden=(10,), latent_dim=6, cell=cell)
    assert output_shape(model, x) == (3, *shape)
    assert output_shape(model, x, method="encode") == (3, 6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_code_ignores_padding_beyond_each_sequence_length(cell):
    x = jax.random.normal(jax.random.key(1), (3, 12, 2))  # [B, T, F]
    lengths = jnp.array([4, 12, 7])
    encoder = SequenceEncoder(latent_dim=5, hidden=(8,), cell=cell)
    params = {"params": init(encoder, x)}
    encode = jax.jit(encoder.apply)
    code = encode(params, x, lengths)
    repadded = x.at[0, 4:].set(100.0).at[2, 7:].set(-50.0)
    np.testing.assert_array_equal(encode(params, repadded, lengths), code)
    alone = encode(params, x[:1, :4], None)  # the first sequence without its padding
    np.testing.assert_allclose(alone[0], code[0], atol=1e-6)
    # without lengths the padding does count
    assert not np.allclose(encode(params, repadded, None), encode(params, x, None))


def test_decoder_unrolls_the_code():
    decoder = SequenceDecoder(length=6, output_dim=2, hidden=(8,))
    z = jax.random.normal(jax.random.key(2), (2, 4))
    out = jax.jit(decoder.apply)({"params": init(decoder, z)}, z)
    assert not np.allclose(out[0], out[1])  # different codes, different sequences
    assert not np.allclose(out[0, 0], out[0, -1])  # the state evolves along the sequence


def test_unknown_cell_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown recurrent cell 'rnn'; choose from gru, lstm"):
        output_shape(SequenceEncoder(cell="rnn"), jnp.ones((1, 3, 2)))


def test_sines_are_seeded_sequences_of_two_shapes():
    ds = gdata.load("sines", length=30, num_series=200)
    assert ds.x_train.shape == (160, 30, 1) and ds.x_test.shape == (40, 30, 1)
    assert ds.x_train.dtype == np.float32 and ds.kind == "real" and ds.num_classes == 2
    assert set(np.unique(ds.y_train)) == {0, 1}
    np.testing.assert_array_equal(ds.x_test, gdata.load("sines", length=30, num_series=200).x_test)
    assert not np.array_equal(
        ds.x_test, gdata.load("sines", length=30, num_series=200, seed=1).x_test
    )
    clean = gdata.load("sines", length=30, num_series=200, noise=0.0)
    sawtooth = clean.x_train[clean.y_train == 1, :, 0]  # [n, T]
    sine = clean.x_train[clean.y_train == 0, :, 0]
    assert np.abs(sawtooth).max() <= 1.0 and np.abs(sine).max() <= 1.0
    # a sawtooth rises steadily and drops once a period; a sine rises half the time
    assert (np.diff(sawtooth, axis=1) > 0).mean() > 0.85
    assert abs((np.diff(sine, axis=1) > 0).mean() - 0.5) < 0.1


def test_images_read_row_by_row():
    ds = gdata.load("digits")
    rows = as_row_sequences(ds)
    assert rows.x_train.shape == (len(ds.x_train), 8, 8)
    np.testing.assert_array_equal(rows.x_train[5, 2], ds.images(ds.x_train)[5, 2, :, 0])
    np.testing.assert_array_equal(rows.x_test.reshape(len(ds.x_test), -1), ds.x_test)
    with pytest.raises(ValueError, match="not an image dataset"):
        as_row_sequences(gdata.load("sines", num_series=20))
