"""GAN losses for ONE example (vmap over the batch), written on the discriminator's raw output.

`r = D(x)` is the discriminator's output on a real example and `f = D(G(z))` on a generated
one: a logit for the minimax and non-saturating losses (`D = σ(r)` is the probability of
"real"), an unbounded critic score for the Wasserstein and hinge losses, and a regression
output for least squares. The discriminator minimizes its loss over D, the generator its
loss over G.

- minimax (Goodfellow et al. 2014): `V(D, G) = E log σ(r) + E log(1 − σ(f))`; the
  discriminator minimizes `−V` per example: `−log σ(r) − log(1 − σ(f)) = softplus(−r) +
  softplus(f)`; the generator minimizes `log(1 − σ(f)) = −softplus(f)`. At the optimal
  `D* = p_data / (p_data + p_g)` the value is `V = −log 4 + 2 JS(p_data ‖ p_g)`, so
  `−log 4` when `p_g = p_data` (then `D* = ½` everywhere).
- non-saturating: the same discriminator; the generator minimizes `−log σ(f) = softplus(−f)`,
  whose gradient does not vanish when D confidently rejects the fakes.
- Wasserstein (Arjovsky et al. 2017): the critic minimizes `f − r`, the generator `−f`; with
  the gradient penalty of Gulrajani et al. 2017, `λ (‖∇D(x̂)‖ − 1)²` at
  `x̂ = ε x + (1 − ε) G(z)`, `ε ~ U[0, 1]`, which keeps the critic near 1-Lipschitz.
- hinge (Lim & Ye 2017; Miyato et al. 2018): `max(0, 1 − r) + max(0, 1 + f)` for D,
  `−f` for G.
- least squares (Mao et al. 2017): `½ (r − b)² + ½ (f − a)²` for D, `½ (f − c)²` for G; with
  `a = 0, b = c = 1` the optimal `D* = p_data / (p_data + p_g)`, ½ at `p_g = p_data`,
  where the discriminator's loss is `¼`.

`gan_loss(name)` pairs them: a `GANLoss(discriminator, generator, gradient_penalty,
threshold)`; `threshold` is where D's output separates "real" from "fake" (for the accuracy
metric), None for the Wasserstein critic, whose scores have no fixed origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


# --- minimax and non-saturating -----------------------------------------------------------
def minimax_discriminator(real_logit: jax.Array, fake_logit: jax.Array) -> jax.Array:
    """`−log σ(r) − log(1 − σ(f))`: the binary cross-entropy of "real" vs "fake"."""
    return jax.nn.softplus(-real_logit) + jax.nn.softplus(fake_logit)


def minimax_generator(fake_logit: jax.Array) -> jax.Array:
    """`log(1 − σ(f)) = −softplus(f)`: the generator's side of the original minimax game."""
    return -jax.nn.softplus(fake_logit)


def non_saturating_generator(fake_logit: jax.Array) -> jax.Array:
    """`−log σ(f) = softplus(−f)`: maximize the log-probability that D calls the fake real."""
    return jax.nn.softplus(-fake_logit)


# --- Wasserstein --------------------------------------------------------------------------
def wasserstein_critic(real_score: jax.Array, fake_score: jax.Array) -> jax.Array:
    """`f − r`: the critic's estimate of `−W(p_data, p_g)` (for a 1-Lipschitz critic)."""
    return fake_score - real_score


def wasserstein_generator(fake_score: jax.Array) -> jax.Array:
    """`−f`."""
    return -fake_score


def gradient_penalty(
    critic: Callable[[jax.Array], jax.Array],
    real: jax.Array,
    fake: jax.Array,
    epsilon: jax.Array,
    *,
    weight: float = 10.0,
) -> jax.Array:
    """`λ (‖∇ₓ D(x̂)‖₂ − 1)²` at `x̂ = ε·real + (1 − ε)·fake` (Gulrajani et al. 2017).

    Args:
      critic: `x [...] -> scalar`, the critic of ONE example with its parameters bound.
      real, fake: one real and one generated example, same shape.
      epsilon: scalar in [0, 1], drawn `U[0, 1]` by the caller (one per example).
      weight: λ.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake examples differ in shape: {real.shape} vs {fake.shape}")
    mixed = epsilon * real + (1.0 - epsilon) * fake
    grad = jax.grad(critic)(mixed)
    # sqrt(Σ g² + tiny): the norm's gradient stays finite where the critic is flat.
    norm = jnp.sqrt(jnp.sum(grad**2) + 1e-12)
    return weight * (norm - 1.0) ** 2


# --- hinge --------------------------------------------------------------------------------
def hinge_discriminator(real_score: jax.Array, fake_score: jax.Array) -> jax.Array:
    """`max(0, 1 − r) + max(0, 1 + f)`."""
    return jax.nn.relu(1.0 - real_score) + jax.nn.relu(1.0 + fake_score)


def hinge_generator(fake_score: jax.Array) -> jax.Array:
    """`−f`."""
    return -fake_score


# --- least squares ------------------------------------------------------------------------
def least_squares_discriminator(
    real_output: jax.Array, fake_output: jax.Array, *, real_target=1.0, fake_target=0.0
) -> jax.Array:
    """`½ (r − b)² + ½ (f − a)²` with `b = real_target`, `a = fake_target`."""
    return 0.5 * (real_output - real_target) ** 2 + 0.5 * (fake_output - fake_target) ** 2


def least_squares_generator(fake_output: jax.Array, *, target=1.0) -> jax.Array:
    """`½ (f − c)²` with `c = target`: pull the fakes' outputs to the value D gives reals."""
    return 0.5 * (fake_output - target) ** 2


# --- pairs --------------------------------------------------------------------------------
class GANLoss(NamedTuple):
    """A discriminator loss `(r, f) -> scalar`, a generator loss `f -> scalar`, whether the
    critic takes the gradient penalty, and the output threshold between fake and real
    (None: the midpoint of the batch's mean real and fake scores)."""

    discriminator: Callable[[jax.Array, jax.Array], jax.Array]
    generator: Callable[[jax.Array], jax.Array]
    gradient_penalty: bool = False
    threshold: float | None = 0.0


GAN_LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(minimax_discriminator, minimax_generator),
    "non_saturating": GANLoss(minimax_discriminator, non_saturating_generator),
    "wgan_gp": GANLoss(wasserstein_critic, wasserstein_generator, True, None),
    "hinge": GANLoss(hinge_discriminator, hinge_generator),
    "least_squares": GANLoss(least_squares_discriminator, least_squares_generator, False, 0.5),
}


def gan_loss(name: str) -> GANLoss:
    """The `GANLoss` pair named `name` (one of `GAN_LOSSES`)."""
    if name not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; choose from {', '.join(GAN_LOSSES)}")
    return GAN_LOSSES[name]
