"""Flax linen modules, pure: `apply(params, x, ...)`, keys passed in."""

from genjax.nn.conv import ConvDecoder, ConvEncoder
from genjax.nn.convolution import Conv, ConvTranspose
from genjax.nn.mlp import MLP, Decoder, Encoder, TiedDecoder, count_params, encoder_kernels
from genjax.nn.recurrent import SequenceDecoder, SequenceEncoder

__all__ = [
    "MLP",
    "Conv",
    "ConvTranspose",
    "ConvDecoder",
    "ConvEncoder",
    "Decoder",
    "Encoder",
    "SequenceDecoder",
    "SequenceEncoder",
    "TiedDecoder",
    "count_params",
    "encoder_kernels",
]
