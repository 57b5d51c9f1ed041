"""Per-example losses with keyword-only hyperparameters; callers reduce over the batch."""

from genjax.losses.gan import (
    GAN_LOSSES,
    GANLoss,
    gan_loss,
    gradient_penalty,
    hinge_discriminator,
    hinge_generator,
    least_squares_discriminator,
    least_squares_generator,
    minimax_discriminator,
    minimax_generator,
    non_saturating_generator,
    wasserstein_critic,
    wasserstein_generator,
)
from genjax.losses.reconstruction import bernoulli_nll, reconstruction_loss, squared_error
from genjax.losses.vae import (
    elbo,
    gaussian_kl,
    gaussian_log_prob,
    iwae_bound,
    reparameterize,
    standard_normal_log_prob,
)

__all__ = [
    "GAN_LOSSES",
    "GANLoss",
    "bernoulli_nll",
    "elbo",
    "gan_loss",
    "gaussian_kl",
    "gaussian_log_prob",
    "gradient_penalty",
    "hinge_discriminator",
    "hinge_generator",
    "iwae_bound",
    "least_squares_discriminator",
    "least_squares_generator",
    "minimax_discriminator",
    "minimax_generator",
    "non_saturating_generator",
    "reconstruction_loss",
    "reparameterize",
    "squared_error",
    "standard_normal_log_prob",
    "wasserstein_critic",
    "wasserstein_generator",
]
