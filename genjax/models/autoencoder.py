"""Autoencoders as compositions of `genjax.nn` stacks and per-example losses.

    model = Autoencoder(input_dim=64, hidden=(256, 128), latent_dim=16)
    params = model.init(key, x)["params"]
    code = model.apply({"params": params}, x, method="encode")     # [B, 16]
    loss_fn = make_reconstruction_loss(model, likelihood="bernoulli",
                                       corrupt=make_corruption("gaussian", 0.3))

The named presets of the deck are configurations of one module:
undercomplete (one layer, code smaller than the input), overcomplete (code larger than the
input), stacked (deep, symmetric), tied (stacked, decoder reuses the encoder's kernels
transposed: about half the weights) and denoising (stacked, trained on corrupted inputs).
Beside it, `ConvAutoencoder` (strided convolutions down, transposed convolutions up, for
images) and `RecurrentAutoencoder` (sequence-to-vector, vector-to-sequence) have the same
`encode` / `decode` / `__call__` methods and `latent_dim` field, so the same losses apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.data import standardize
from genjax.losses.reconstruction import reconstruction_loss
from genjax.nn.conv import ConvDecoder, ConvEncoder
from genjax.nn.mlp import Decoder, Encoder, TiedDecoder, encoder_kernels
from genjax.nn.recurrent import SequenceDecoder, SequenceEncoder


class Autoencoder(nn.Module):
    """`x [..., D] -> code [..., latent_dim] -> output [..., D]` (logits or a linear mean)."""

    input_dim: int
    hidden: Sequence[int] = ()
    latent_dim: int = 16
    tied: bool = False
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self):
        self.encoder = Encoder(self.hidden, self.latent_dim, self.activation)
        if self.tied:
            self.decoder = TiedDecoder(self.activation)
        else:
            self.decoder = Decoder(tuple(reversed(self.hidden)), self.input_dim, self.activation)

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)

    def decode(self, z: jax.Array) -> jax.Array:
        if self.tied:
            return self.decoder(z, encoder_kernels(self.encoder.variables["params"]))
        return self.decoder(z)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """`x [..., H·W·C] -> code [..., latent_dim] -> output [..., H·W·C]` through images.

    The flat input (row-major, as the data module serves images) is viewed as
    `[..., H, W, C]`; the encoder's stride-2 stages have `features` channels and the decoder
    mirrors them (`reversed(features)`) with transposed convolutions. The output is flat and
    linear (logits or means), like `Autoencoder`'s.
    """

    image_shape: tuple[int, int, int]
    features: Sequence[int] = (32, 64)
    latent_dim: int = 16
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self):
        self.encoder = ConvEncoder(self.features, self.latent_dim, self.activation)
        self.decoder = ConvDecoder(
            self.image_shape, tuple(reversed(self.features)), self.activation
        )

    def encode(self, x: jax.Array) -> jax.Array:
        images = x.reshape(*x.shape[:-1], *self.image_shape)  # [..., H, W, C]
        return self.encoder(images)

    def decode(self, z: jax.Array) -> jax.Array:
        images = self.decoder(z)  # [..., H, W, C]
        return images.reshape(*images.shape[:-3], -1)  # [..., H·W·C]

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x))


class RecurrentAutoencoder(nn.Module):
    """`x [..., T, F] -> code [..., latent_dim] -> output [..., T, F]`.

    The encoder's code is the final hidden state of recurrent layers `(*hidden, latent_dim)`
    (at each sequence's own last step when `seq_lengths` is given); the decoder starts its
    first layer from a state computed from the code, feeds the code as every step's input
    through layers `reversed(hidden)` (`(latent_dim,)` if `hidden` is empty), and a linear
    output per step.
    """

    length: int
    num_features: int
    hidden: Sequence[int] = (64,)
    latent_dim: int = 16
    cell: str = "gru"

    def setup(self):
        self.encoder = SequenceEncoder(self.latent_dim, self.hidden, self.cell)
        decoder_hidden = tuple(reversed(self.hidden)) or (self.latent_dim,)
        self.decoder = SequenceDecoder(self.length, self.num_features, decoder_hidden, self.cell)

    def encode(self, x: jax.Array, seq_lengths: jax.Array | None = None) -> jax.Array:
        return self.encoder(x, seq_lengths)

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x: jax.Array, seq_lengths: jax.Array | None = None) -> jax.Array:
        return self.decode(self.encode(x, seq_lengths))


class EncoderClassifier(nn.Module):
    """`x [..., D] -> logits [..., num_classes]`: an `Encoder` (the same layers, and the same
    parameter names under "encoder", as an `Autoencoder`'s) followed by a linear softmax head,
    `logits = W · encode(x) + b`, `p(y | x) = softmax(logits)`.

    Unsupervised pre-training: train an `Autoencoder` on all the unlabelled data, start the
    classifier from its encoder's weights (`with_encoder`), then train on the labelled few.
    """

    hidden: Sequence[int]
    latent_dim: int
    num_classes: int
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self):
        self.encoder = Encoder(self.hidden, self.latent_dim, self.activation)
        self.head = nn.Dense(self.num_classes)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.head(self.encoder(x))


def with_encoder(classifier_params: dict, autoencoder_params: dict) -> dict:
    """`classifier_params` with the "encoder" subtree replaced by the autoencoder's (the same
    arrays, unchanged); raises ValueError if the two encoders' shapes differ."""
    mine, theirs = classifier_params["encoder"], autoencoder_params["encoder"]
    shapes = jax.tree.map(jnp.shape, mine), jax.tree.map(jnp.shape, theirs)
    if shapes[0] != shapes[1]:
        raise ValueError(f"encoder shapes differ: classifier {shapes[0]}, autoencoder {shapes[1]}")
    return {**classifier_params, "encoder": theirs}


PRESETS = ("undercomplete", "overcomplete", "stacked", "tied", "denoising")


def default_latent_dim(input_dim: int) -> int:
    """The code size used when none is given: `D/4`, clipped to [2, 32]."""
    return max(2, min(32, input_dim // 4))


def preset(name: str, input_dim: int, *, hidden: Sequence[int], latent_dim: int | None):
    """The `Autoencoder` for a preset name; `latent_dim=None` picks the preset's default.

    Returns `(model, trains_on_corrupted_inputs)`.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown autoencoder model {name!r}; choose from {', '.join(PRESETS)}")
    if name == "overcomplete":
        latent = 2 * input_dim if latent_dim is None else latent_dim
        if latent <= input_dim:
            raise ValueError(f"overcomplete needs latent_dim > {input_dim} inputs, got {latent}")
        return Autoencoder(input_dim, (), latent), False
    latent = default_latent_dim(input_dim) if latent_dim is None else latent_dim
    if latent < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent}")
    if name == "undercomplete":
        if latent >= input_dim:
            raise ValueError(f"undercomplete needs latent_dim < {input_dim} inputs, got {latent}")
        return Autoencoder(input_dim, (), latent), False
    if any(h < 1 for h in hidden):
        raise ValueError(f"hidden sizes must be >= 1, got {tuple(hidden)}")
    return Autoencoder(input_dim, tuple(hidden), latent, tied=name == "tied"), name == "denoising"


def make_reconstruction_loss(
    model: nn.Module,
    *,
    likelihood: str,
    corrupt: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
):
    """`loss_fn(params, x, key) -> (mean loss, metrics)` for `fit`.

    `L = mean_b ℓ(f(c(x_b)), x_b)` with ℓ the per-example reconstruction loss of
    `likelihood` and `c` the corruption (identity when None): the encoder sees the
    corrupted input, the loss compares with the clean one.
    """
    per_example = jax.vmap(reconstruction_loss(likelihood))

    def loss_fn(params, x: jax.Array, key: jax.Array):
        encoder_input = x if corrupt is None else corrupt(key, x)
        output = model.apply({"params": params}, encoder_input)
        loss = jnp.mean(per_example(output, x))
        return loss, {"reconstruction": loss}

    return loss_fn


def mean_baseline_loss(x_train: jax.Array, x_test: jax.Array, *, likelihood: str) -> jax.Array:
    """The loss of predicting the training mean for every test input (a no-skill baseline)."""
    mean = jnp.mean(x_train, axis=0)
    if likelihood == "bernoulli":
        p = jnp.clip(mean, 1e-6, 1 - 1e-6)
        mean = jnp.log(p) - jnp.log1p(-p)  # logits of the mean
    output = jnp.broadcast_to(mean, x_test.shape)
    return jnp.mean(jax.vmap(reconstruction_loss(likelihood))(output, x_test))


def reconstruction_inputs(ds, likelihood: str = "auto"):
    """`(likelihood, x_train, x_test)` for training a reconstruction model on `ds`.

    "auto" picks "bernoulli" for binary data and "gaussian" otherwise. Features outside
    [0, 1] are standardized with the training mean and standard deviation.
    """
    if likelihood == "auto":
        likelihood = "bernoulli" if ds.kind == "binary" else "gaussian"
    x_train, x_test = ds.x_train, ds.x_test
    if x_train.min() < 0 or x_train.max() > 1:  # unbounded real features
        x_train, x_test = standardize(x_train, x_test)
    return likelihood, x_train, x_test
