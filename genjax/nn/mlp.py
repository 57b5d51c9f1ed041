"""Fully connected stacks: MLP, encoder/decoder "sandwich", and the tied decoder.

Every module is used only through `init`/`apply`; none holds randomness or state.
A stacked autoencoder with hidden sizes `(h1, h2)` and code size `d` is the symmetric
sandwich `D -> h1 -> h2 -> d -> h2 -> h1 -> D`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
    """`x -> act(x W1 + b1) -> ... -> x Wn + bn`; the last layer is linear unless
    `activate_final`. Layers are named `dense_0 … dense_{n-1}`."""

    features: Sequence[int]
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    activate_final: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., D_in] -> [..., features[-1]]
        for i, size in enumerate(self.features):
            x = nn.Dense(size, name=f"dense_{i}")(x)
            if i < len(self.features) - 1 or self.activate_final:
                x = self.activation(x)
        return x


class Encoder(nn.Module):
    """`x [..., D] -> code [..., latent_dim]` through `hidden`; the code is linear."""

    hidden: Sequence[int]
    latent_dim: int
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return MLP((*self.hidden, self.latent_dim), self.activation, name="mlp")(x)


class Decoder(nn.Module):
    """`code [..., d] -> [..., output_dim]` through `hidden` (given in decoding order);
    the output is linear: logits for a Bernoulli decoder, the mean for a Gaussian one."""

    hidden: Sequence[int]
    output_dim: int
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        return MLP((*self.hidden, self.output_dim), self.activation, name="mlp")(z)


class TiedDecoder(nn.Module):
    """The mirror of an encoder that reuses its kernels transposed: layer `i` of the
    decoder computes `h W_{n-i}^T + c_i` with its own bias `c_i` only.

    Called with the encoder's kernels in encoding order `[W_1 (D×h1), …, W_n (h_{n-1}×d)]`.
    """

    activation: Callable[[jax.Array], jax.Array] = nn.relu

    @nn.compact
    def __call__(self, z: jax.Array, kernels: Sequence[jax.Array]) -> jax.Array:
        h = z
        for i, kernel in enumerate(reversed(kernels)):
            bias = self.param(f"bias_{i}", nn.initializers.zeros, (kernel.shape[0],))
            h = h @ kernel.T + bias  # [..., fan_out] -> [..., fan_in]
            if i < len(kernels) - 1:
                h = self.activation(h)
        return h


def encoder_kernels(encoder_params: dict) -> list[jax.Array]:
    """The kernels of an `Encoder`'s parameters, in encoding order."""
    layers = encoder_params["mlp"]
    return [layers[f"dense_{i}"]["kernel"] for i in range(len(layers))]


def count_params(params) -> int:
    """The number of scalars in a parameter pytree."""
    return sum(int(jnp.size(p)) for p in jax.tree.leaves(params))
