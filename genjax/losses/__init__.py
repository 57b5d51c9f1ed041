"""Per-example losses with keyword-only hyperparameters; callers reduce over the batch."""

from genjax.losses.reconstruction import bernoulli_nll, reconstruction_loss, squared_error

__all__ = ["bernoulli_nll", "reconstruction_loss", "squared_error"]
from genjax.losses.gan import (  # noqa: E402
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

__all__ += [
    "GAN_LOSSES",
    "GANLoss",
    "gan_loss",
    "gradient_penalty",
    "hinge_discriminator",
    "hinge_generator",
    "least_squares_discriminator",
    "least_squares_generator",
    "minimax_discriminator",
    "minimax_generator",
    "non_saturating_generator",
    "wasserstein_critic",
    "wasserstein_generator",
]
from genjax.losses.vae import (  # noqa: E402
    elbo,
    gaussian_kl,
    gaussian_log_prob,
    iwae_bound,
    reparameterize,
    standard_normal_log_prob,
)

__all__ += [
    "elbo",
    "gaussian_kl",
    "gaussian_log_prob",
    "iwae_bound",
    "reparameterize",
    "standard_normal_log_prob",
]
