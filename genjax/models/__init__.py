"""Model families as compositions of `genjax.nn` modules and `genjax.losses`."""

from genjax.models.autoencoder import (
    Autoencoder,
    make_reconstruction_loss,
    mean_baseline_loss,
    preset,
)

__all__ = ["Autoencoder", "make_reconstruction_loss", "mean_baseline_loss", "preset"]
