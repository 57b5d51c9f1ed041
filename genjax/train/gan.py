"""GAN training as composable updates: `k` discriminator updates, then one generator update.

    objective = GANObjective(generator, discriminator, latent_dim=16, loss="non_saturating")
    state = init_gan(objective, key, x_train[0], g_tx, d_tx)       # GANState
    step = make_gan_step(objective, g_tx, d_tx, d_steps=1)         # step(state, batch, key)
    state, history = fit(step, state, x_train, key, num_steps=..., batch_size=64)

Everything is a pure function of explicit parameters: `GANObjective.discriminator_loss(d, g,
real, key)` and `.generator_loss(g, d, n, key)` take both players' parameters, so a caller
can pit any generator against any discriminator (e.g. the neighbours of a cell in a
co-evolution grid) and vmap over them. One GAN step with `d_steps = k`:

1. split the real batch `[B, ...]` into `k` minibatches of `B/k`;
2. for `i = 1..k`: `φ ← φ − η_D ∇φ L_D(φ; θ, real_i, key_i)` (fresh fakes from `G_θ`);
3. `θ ← θ − η_G ∇θ L_G(θ; φ, B/k fakes, key_G)` against the updated discriminator.

Each update has its own optax optimizer and its own key. The metrics are the discriminator's
loss, accuracy on real (`D(x)` above the loss's threshold) and on fake examples (below it) and
gradient norm, averaged over its `k` updates, and the generator's loss and gradient norm;
`loss` (the discriminator's loss) and `grad_norm` (both players' gradients together) feed
`fit`'s divergence guard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from genjax.losses.gan import GANLoss, gan_loss, gradient_penalty
from genjax.train.state import TrainState


class GANState(NamedTuple):
    """`step` (int32: GAN steps taken), one `TrainState` per player (each with its own
    optimizer state and update counter: the discriminator's counts `k` per GAN step), and
    per-model loss `hparams` (e.g. `{"gp_weight": 10.0}`), which a vmapped population
    gives each member on its own."""

    step: jnp.ndarray
    generator: TrainState
    discriminator: TrainState
    hparams: dict = {}

    @classmethod
    def create(
        cls,
        generator_params: Any,
        discriminator_params: Any,
        generator_tx: optax.GradientTransformation,
        discriminator_tx: optax.GradientTransformation,
        **hparams,
    ) -> GANState:
        hparams = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
        return cls(
            jnp.zeros((), jnp.int32),
            TrainState.create(generator_params, generator_tx),
            TrainState.create(discriminator_params, discriminator_tx),
            hparams,
        )


def discriminator_accuracy(
    real_output: jax.Array, fake_output: jax.Array, threshold: float | None
) -> tuple[jax.Array, jax.Array]:
    """`(share of real examples called real, share of fakes called fake)`: output above /
    below `threshold`; None takes the midpoint of the batch's mean real and fake outputs."""
    if threshold is None:
        threshold = 0.5 * (jnp.mean(real_output) + jnp.mean(fake_output))
    return jnp.mean(real_output > threshold), jnp.mean(fake_output < threshold)


@dataclasses.dataclass(frozen=True)
class GANObjective:
    """A generator / discriminator pair (linen modules) and the loss they play.

    `generator`: `z [B, latent_dim] -> x [B, D]`; `discriminator`: `x [B, D] -> [B]`.
    `loss` names a pair of `genjax.losses.gan.GAN_LOSSES`; the latent prior is `N(0, I)`.
    """

    generator: nn.Module
    discriminator: nn.Module
    latent_dim: int
    loss: str = "non_saturating"

    def __post_init__(self):
        gan_loss(self.loss)  # validate the name early
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")

    @property
    def losses(self) -> GANLoss:
        return gan_loss(self.loss)

    def init(self, key: jax.Array, example: jax.Array) -> tuple[Any, Any]:
        """`(generator_params, discriminator_params)` for data shaped like `example [D]`."""
        g_key, d_key = jax.random.split(key)
        g_params = self.generator.init(g_key, jnp.zeros((1, self.latent_dim)))["params"]
        d_params = self.discriminator.init(d_key, jnp.asarray(example)[None])["params"]
        return g_params, d_params

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array:
        return jax.random.normal(key, (num, self.latent_dim))  # [N, L]

    def generate(self, g_params: Any, z: jax.Array) -> jax.Array:
        return self.generator.apply({"params": g_params}, z)

    def sample(self, g_params: Any, key: jax.Array, num: int) -> jax.Array:
        """`num` generated examples `G(z)`, `z ~ N(0, I)`."""
        return self.generate(g_params, self.sample_latent(key, num))

    def discriminate(self, d_params: Any, x: jax.Array) -> jax.Array:
        return self.discriminator.apply({"params": d_params}, x)

    def discriminator_loss(
        self,
        d_params: Any,
        g_params: Any,
        real: jax.Array,
        key: jax.Array,
        *,
        gp_weight: float = 10.0,
    ) -> tuple[jax.Array, dict]:
        """`mean_b L_D(D(real_b), D(G(z_b)))` (+ the mean gradient penalty for wgan_gp)
        over `B = len(real)` real and as many fresh fake examples."""
        latent_key, mix_key = jax.random.split(key)
        fake = self.sample(g_params, latent_key, real.shape[0])  # [B, D]
        real_output = self.discriminate(d_params, real)  # [B]
        fake_output = self.discriminate(d_params, fake)  # [B]
        losses = self.losses
        loss = jnp.mean(jax.vmap(losses.discriminator)(real_output, fake_output))
        metrics = {}
        if losses.gradient_penalty:
            epsilon = jax.random.uniform(mix_key, (real.shape[0],))  # [B]
            critic = partial(self.discriminate, d_params)  # one example -> scalar
            penalty = jax.vmap(partial(gradient_penalty, critic, weight=gp_weight))(
                real, fake, epsilon
            )
            metrics["gradient_penalty"] = jnp.mean(penalty)
            loss = loss + metrics["gradient_penalty"]
        accuracy_real, accuracy_fake = discriminator_accuracy(
            real_output, fake_output, losses.threshold
        )
        metrics.update(
            d_loss=loss,
            d_accuracy_real=accuracy_real,
            d_accuracy_fake=accuracy_fake,
            d_output_real=jnp.mean(real_output),
            d_output_fake=jnp.mean(fake_output),
        )
        return loss, metrics

    def generator_loss(
        self, g_params: Any, d_params: Any, num: int, key: jax.Array
    ) -> tuple[jax.Array, dict]:
        """`mean_b L_G(D(G(z_b)))` over `num` fresh fake examples."""
        fake_output = self.discriminate(d_params, self.sample(g_params, key, num))  # [N]
        loss = jnp.mean(jax.vmap(self.losses.generator)(fake_output))
        return loss, {"g_loss": loss}


def _apply(state: TrainState, tx: optax.GradientTransformation, grads: Any) -> TrainState:
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainState(state.step + 1, params, opt_state, state.hparams)


def make_discriminator_update(objective: GANObjective, tx: optax.GradientTransformation):
    """`update(d_state, g_params, real [B, D], key, **hparams) -> (d_state, metrics)`: one
    optimizer step of the discriminator against the fixed generator `g_params`."""

    def update(d_state: TrainState, g_params: Any, real: jax.Array, key: jax.Array, **hparams):
        grad_fn = jax.value_and_grad(objective.discriminator_loss, has_aux=True)
        (_, metrics), grads = grad_fn(d_state.params, g_params, real, key, **hparams)
        return _apply(d_state, tx, grads), {**metrics, "d_grad_norm": optax.global_norm(grads)}

    return update


def make_generator_update(objective: GANObjective, tx: optax.GradientTransformation):
    """`update(g_state, d_params, num, key) -> (g_state, metrics)`: one optimizer step of the
    generator on `num` fakes against the fixed discriminator `d_params` (`num` is static)."""

    def update(g_state: TrainState, d_params: Any, num: int, key: jax.Array):
        grad_fn = jax.value_and_grad(objective.generator_loss, has_aux=True)
        (_, metrics), grads = grad_fn(g_state.params, d_params, num, key)
        return _apply(g_state, tx, grads), {**metrics, "g_grad_norm": optax.global_norm(grads)}

    return update


def make_gan_step(
    objective: GANObjective,
    generator_tx: optax.GradientTransformation,
    discriminator_tx: optax.GradientTransformation,
    *,
    d_steps: int = 1,
):
    """`step(state: GANState, real [B, D], key) -> (state, metrics)` for `fit`: `d_steps`
    discriminator updates on `B / d_steps` real examples each, then one generator update
    on `B / d_steps` fakes (so `B` must be a multiple of `d_steps`)."""
    if d_steps < 1:
        raise ValueError(f"d_steps must be >= 1, got {d_steps}")
    d_update = make_discriminator_update(objective, discriminator_tx)
    g_update = make_generator_update(objective, generator_tx)

    def step(state: GANState, real: jax.Array, key: jax.Array):
        if real.shape[0] % d_steps:
            raise ValueError(
                f"the batch of {real.shape[0]} examples does not split into d_steps={d_steps} "
                "equal minibatches; use a batch size that is a multiple of d_steps"
            )
        per_update = real.shape[0] // d_steps
        d_key, g_key = jax.random.split(key)
        minibatches = real.reshape(d_steps, per_update, *real.shape[1:])  # [k, B/k, D]

        def d_body(d_state, inputs):
            minibatch, update_key = inputs
            return d_update(d_state, state.generator.params, minibatch, update_key, **state.hparams)

        d_state, d_metrics = jax.lax.scan(
            d_body, state.discriminator, (minibatches, jax.random.split(d_key, d_steps))
        )
        d_metrics = jax.tree.map(partial(jnp.mean, axis=0), d_metrics)
        g_state, g_metrics = g_update(state.generator, d_state.params, per_update, g_key)
        metrics = {
            **d_metrics,
            **g_metrics,
            "d_accuracy": 0.5 * (d_metrics["d_accuracy_real"] + d_metrics["d_accuracy_fake"]),
            "loss": d_metrics["d_loss"],
            "grad_norm": jnp.hypot(d_metrics["d_grad_norm"], g_metrics["g_grad_norm"]),
        }
        return GANState(state.step + 1, g_state, d_state, state.hparams), metrics

    return step


def init_gan(
    objective: GANObjective,
    key: jax.Array,
    example: jax.Array,
    generator_tx: optax.GradientTransformation,
    discriminator_tx: optax.GradientTransformation,
    **hparams,
) -> GANState:
    """A fresh `GANState` with both players initialized from `key`."""
    g_params, d_params = objective.init(key, example)
    return GANState.create(g_params, d_params, generator_tx, discriminator_tx, **hparams)


def init_gan_population(
    objective: GANObjective,
    keys: jax.Array,
    example: jax.Array,
    generator_tx: optax.GradientTransformation,
    discriminator_tx: optax.GradientTransformation,
    **hparams: float | Sequence[float],
) -> GANState:
    """A stacked `GANState` (leading member axis) with member `i` initialized from
    `keys[i]`; `hparams` give one value per member or a scalar for all."""
    size = keys.shape[0]
    values = {k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (size,)) for k, v in hparams.items()}

    def create(key, member_hparams):
        return init_gan(objective, key, example, generator_tx, discriminator_tx, **member_hparams)

    return jax.vmap(create)(keys, values)
