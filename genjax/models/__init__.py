"""Model families as compositions of `genjax.nn` modules and `genjax.losses`."""

from genjax.models.autoencoder import (
    Autoencoder,
    ConvAutoencoder,
    EncoderClassifier,
    RecurrentAutoencoder,
    default_latent_dim,
    make_reconstruction_loss,
    mean_baseline_loss,
    preset,
    with_encoder,
)
from genjax.models.vae import (
    VAE,
    decode_mean,
    encode_mean,
    evaluate,
    make_vae_loss,
    sample_prior,
)

__all__ = [
    "VAE",
    "Autoencoder",
    "ConvAutoencoder",
    "EncoderClassifier",
    "RecurrentAutoencoder",
    "decode_mean",
    "default_latent_dim",
    "encode_mean",
    "evaluate",
    "make_reconstruction_loss",
    "make_vae_loss",
    "mean_baseline_loss",
    "preset",
    "sample_prior",
    "with_encoder",
]
