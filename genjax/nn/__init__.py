"""Flax linen modules, pure: `apply(params, x, ...)`, keys passed in."""

from genjax.nn.mlp import MLP, Decoder, Encoder, TiedDecoder, count_params, encoder_kernels

__all__ = ["MLP", "Decoder", "Encoder", "TiedDecoder", "count_params", "encoder_kernels"]
