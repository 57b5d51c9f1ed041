"""The training core shared by every model: state, step factories, the compiled loop."""

from genjax.train.gan import (
    GANObjective,
    GANState,
    discriminator_accuracy,
    init_gan,
    init_gan_population,
    make_discriminator_update,
    make_gan_step,
    make_generator_update,
)
from genjax.train.loop import DivergenceError, fit, make_chunk, make_data_step, sample_batch
from genjax.train.population import init_population, member, stack, unstack
from genjax.train.state import TrainState
from genjax.train.step import make_train_step

__all__ = [
    "DivergenceError",
    "GANObjective",
    "GANState",
    "discriminator_accuracy",
    "init_gan",
    "init_gan_population",
    "make_discriminator_update",
    "make_gan_step",
    "make_generator_update",
    "TrainState",
    "fit",
    "init_population",
    "make_chunk",
    "make_data_step",
    "make_train_step",
    "member",
    "sample_batch",
    "stack",
    "unstack",
]
