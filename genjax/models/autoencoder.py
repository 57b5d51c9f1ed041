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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.losses.reconstruction import reconstruction_loss
from genjax.nn.mlp import Decoder, Encoder, TiedDecoder, encoder_kernels


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


PRESETS = ("undercomplete", "overcomplete", "stacked", "tied", "denoising")


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
    latent = max(2, min(32, input_dim // 4)) if latent_dim is None else latent_dim
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
