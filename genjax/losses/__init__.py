"""Per-example losses with keyword-only hyperparameters; callers reduce over the batch."""

from genjax.losses.reconstruction import bernoulli_nll, reconstruction_loss, squared_error

__all__ = ["bernoulli_nll", "reconstruction_loss", "squared_error"]
