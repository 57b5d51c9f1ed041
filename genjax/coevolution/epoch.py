"""One co-evolution epoch over the whole grid, compiled as one program vmapped over cells.

Lipizzaner (Toutouh, Hemberg, O'Reilly et al. 2019; Al-Dujaili et al. 2018): cell `c` of
an `H × W` torus holds a generator `G_c`, a discriminator `D_c` (each a `TrainState`
whose `optax.inject_hyperparams` optimizer state carries its own learning rate) and
mixture weights `w_c` over the generators of its neighbourhood `𝒩(c)` (itself and its 4
neighbours, `genjax.coevolution.grid`). One epoch, for every cell at once:

1. exchange: gather `𝒩(c)`'s generators and discriminators (`jnp.roll` over the grid);
2. evaluate: on `fitness_samples` of the cell's real examples of the epoch and as many
   fakes of every gathered generator `i` (the same latents for all), the loss matrix against
   every gathered discriminator `j`; fitness of `G_i` = `mean_j L_G(G_i; D_j)`, of `D_j` =
   `mean_i L_D(D_j; G_i)` (lower is better; the game's loss without a gradient penalty).
   Each generator's fakes and each discriminator's outputs are computed once (`5` generator
   and `5 + 25` discriminator passes, `loss_matrices`), so a larger sample than one batch
   (Lipizzaner's `fitness_sample_size`) costs no more than the per-pair losses did;
3. select: tournament of `tournament_size` slots, the winner replaces the cell's own
   individual only if it is better (parameters, optimizer state and learning rate);
4. mutate: Gaussian mutation of each player's learning rate;
5. train: `steps_per_epoch` GAN steps of `(G_c, D_c)`, each step against an adversary
   from `𝒩(c)`: the discriminator's fakes come from the cell's own current generator with
   probability `d_own_probability`, else from a neighbour's (as exchanged in 1); the
   generator plays its own current discriminator with probability `g_own_probability`,
   else a neighbour's;
6. mixture: gather the trained generators of `𝒩(c)` again and take one (1+1)-ES step on
   `w_c`, scored by the run's quality score (`genjax.coevolution.scores`).

`optimize_mixture(coevolution, state, key, real, ...)` is Lipizzaner's final mixture
optimization (`optimize_weights_at_the_end`): many ES generations on the final
generators, scored on one fixed sample per cell.

`make_epoch(coevolution)` returns `epoch(state, batch, key) -> (state, metrics)`, a step
in the sense of `genjax.train.fit`: the state's `step` counts epochs, and `batch` holds
`N · steps_per_epoch · batch_size` real examples (`Coevolution.epoch_batch_size`), split
into one batch per cell and GAN step. Driving epochs through `fit` gives the compiled
multi-epoch `lax.scan`, metrics, checkpoints and resume of every other model.

Devices: with `Coevolution(mesh=cell_mesh(n))` and a state placed with
`shard_cells(state, mesh, N)`, every `[N, ...]` array is constrained to the cell sharding
and the grid's rolls become collective permutes between devices. Many hosts: call
`jax.distributed.initialize(coordinator_address, num_processes, process_id)` in every
process before anything else touches JAX; `jax.devices()` then lists every process's
devices, `cell_mesh()` spans them all, and the same program runs unchanged (each process
feeds the same seed, so the replicated data and keys agree).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from genjax.coevolution.evolution import (
    learning_rate,
    mixture_es_step,
    mixture_sample,
    mutate_learning_rate,
    select,
    take,
)
from genjax.coevolution.grid import (
    NEIGHBOURHOOD_SIZE,
    check_grid_shape,
    constrain_cells,
    neighbourhood,
)
from genjax.coevolution.scores import Score
from genjax.train.gan import (
    GANObjective,
    init_gan_population,
    make_discriminator_update,
    make_generator_update,
)
from genjax.train.state import TrainState


class CoevolutionState(NamedTuple):
    """`step`: epochs done (int32 scalar); per cell (leading axis `N`): the players'
    `TrainState`s, `mixture_weights [N, 5]` over the neighbourhood's generators (slot
    order of `grid.OFFSETS`) and `mixture_score [N]`, the weights' last ES score."""

    step: jnp.ndarray
    generators: TrainState
    discriminators: TrainState
    mixture_weights: jnp.ndarray
    mixture_score: jnp.ndarray


@dataclasses.dataclass(frozen=True)
class Coevolution:
    """The grid, the GAN pair each cell trains, and the evolutionary settings."""

    objective: GANObjective
    grid_shape: tuple[int, int]
    score: Score
    """`score(samples [M, D], real [R, D])`, higher is better: the mixture ES's fitness."""
    steps_per_epoch: int = 10
    """GAN steps (one D and one G update each) of every cell per epoch."""
    batch_size: int = 64
    """Real examples per GAN step and cell (and fakes per update)."""
    tournament_size: int = 2
    mutation_probability: float = 0.5
    mutation_std: float = 1e-4
    """σ of the additive Gaussian mutation of a learning rate."""
    min_learning_rate: float = 1e-5
    mixture_sigma: float = 0.05
    """σ of the ES's Gaussian step on the mixture weights."""
    mixture_samples: int = 500
    """Generated samples per ES score."""
    fitness_samples: int = 512
    """Real and generated examples per fitness evaluation (at most the cell's epoch data,
    `steps_per_epoch · batch_size`; Lipizzaner's `fitness_sample_size`)."""
    d_own_probability: float = 1.0
    """Chance that a discriminator update's fakes come from the cell's own generator rather
    than from one of the 4 neighbours' (drawn uniformly); 0.2 draws all 5 slots alike
    (Lipizzaner). Below 1 the pairs collapsed on grid25 (see the README), hence 1."""
    g_own_probability: float = 1.0
    """Chance that a generator update plays the cell's own discriminator rather than one
    of the 4 neighbours'."""
    beta1: float = 0.5
    """Adam's first-moment decay for both players."""
    mesh: Mesh | None = None
    """A mesh with axis "pop" to shard the cells over (None: no constraint)."""

    def __post_init__(self):
        object.__setattr__(self, "grid_shape", check_grid_shape(self.grid_shape))
        for name in ("steps_per_epoch", "batch_size", "mixture_samples", "fitness_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 1 <= self.tournament_size <= NEIGHBOURHOOD_SIZE:
            raise ValueError(
                f"tournament_size must be in [1, {NEIGHBOURHOOD_SIZE}], got {self.tournament_size}"
            )
        if not 0 <= self.mutation_probability <= 1:
            raise ValueError(
                f"mutation_probability must be in [0, 1], got {self.mutation_probability}"
            )
        for name in ("d_own_probability", "g_own_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.mutation_std < 0 or self.mixture_sigma < 0 or not self.min_learning_rate > 0:
            raise ValueError(
                "mutation_std and mixture_sigma must be >= 0 and min_learning_rate > 0, got "
                f"{self.mutation_std}, {self.mixture_sigma}, {self.min_learning_rate}"
            )

    @property
    def num_cells(self) -> int:
        return self.grid_shape[0] * self.grid_shape[1]

    @property
    def fitness_size(self) -> int:
        """Examples the fitness uses: `fitness_samples`, at most the cell's epoch data."""
        return min(self.fitness_samples, self.steps_per_epoch * self.batch_size)

    @property
    def epoch_batch_size(self) -> int:
        """Real examples one epoch consumes: one batch per cell and GAN step."""
        return self.num_cells * self.steps_per_epoch * self.batch_size

    def optimizer(self, rate: float = 1e-3) -> optax.GradientTransformation:
        """Adam with the learning rate in its state (`rate` is only the initial value)."""
        return optax.inject_hyperparams(optax.adam)(learning_rate=rate, b1=self.beta1)


def init_grid(
    coevolution: Coevolution,
    key: jax.Array,
    example: jax.Array,
    *,
    learning_rate: float = 1e-3,
    d_learning_rate: float | None = None,
    **hparams: float,
) -> CoevolutionState:
    """A fresh grid: cell `c`'s pair initialized from `split(key, N)[c]`, uniform mixture
    weights, loss `hparams` (e.g. `gp_weight`) for every discriminator."""
    n = coevolution.num_cells
    g_tx = coevolution.optimizer(learning_rate)
    d_tx = coevolution.optimizer(d_learning_rate or learning_rate)
    pairs = jax.jit(  # one compiled initialization rather than op-by-op dispatch
        lambda keys, example: init_gan_population(
            coevolution.objective, keys, example, g_tx, d_tx, **hparams
        )
    )(jax.random.split(key, n), jnp.asarray(example))
    discriminators = pairs.discriminator._replace(hparams=pairs.hparams)
    weights = jnp.full((n, NEIGHBOURHOOD_SIZE), 1.0 / NEIGHBOURHOOD_SIZE)
    return CoevolutionState(
        jnp.zeros((), jnp.int32), pairs.generator, discriminators, weights, jnp.zeros(n)
    )


def _where(condition: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), a, b)


def loss_matrices(
    objective: GANObjective, g_params: Any, d_params: Any, real: jax.Array, key: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`(L_G, L_D)`, each `[K generators, J discriminators]`: entry `(i, j)` is
    `mean_m L_G(D_j(G_i(z_m)))`, resp. `mean_m L_D(D_j(x_m), D_j(G_i(z_m)))`, over the
    `M` real examples `real [M, D]` and `M` latents `z` drawn from `key` (the same for
    every generator). `g_params` / `d_params`: leaves `[K, ...]` / `[J, ...]`. Each
    generator's fakes and each discriminator's outputs are computed once."""
    num = real.shape[0]
    fakes = jax.vmap(lambda g: objective.sample(g, key, num))(g_params)  # [K, M, D]

    def outputs(d):
        discriminate = partial(objective.discriminate, d)
        return discriminate(real), jax.vmap(discriminate)(fakes)  # [M], [K, M]

    real_outputs, fake_outputs = jax.vmap(outputs)(d_params)  # [J, M], [J, K, M]
    losses = objective.losses
    g_losses = jnp.mean(jnp.vectorize(losses.generator)(fake_outputs), axis=-1)  # [J, K]
    d_losses = jnp.mean(
        jnp.vectorize(losses.discriminator)(real_outputs[:, None], fake_outputs), axis=-1
    )  # [J, K]
    return g_losses.T, d_losses.T


def adversary_slot(key: jax.Array, own_probability: float) -> jax.Array:
    """Slot 0 (the cell's own partner) with probability `own_probability`, else one of
    the slots 1..4 (the neighbours) uniformly."""
    own_key, neighbour_key = jax.random.split(key)
    neighbour = jax.random.randint(neighbour_key, (), 1, NEIGHBOURHOOD_SIZE)
    return jnp.where(jax.random.bernoulli(own_key, own_probability), 0, neighbour)


def make_epoch(coevolution: Coevolution):
    """`epoch(state, batch [N·k·B, D], key) -> (state, metrics)`: one co-evolution epoch
    of the whole grid (module docstring). Metrics are means over cells, plus the best
    cell's mixture score and the share of cells whose player was replaced by selection."""
    co = coevolution
    objective, grid_shape, n = co.objective, co.grid_shape, co.num_cells
    tx = co.optimizer()  # the update reads the learning rate from each state
    d_update = make_discriminator_update(objective, tx)
    g_update = make_generator_update(objective, tx)

    def mutation(key, state: TrainState) -> TrainState:
        opt_state = mutate_learning_rate(
            key,
            state.opt_state,
            probability=co.mutation_probability,
            std=co.mutation_std,
            minimum=co.min_learning_rate,
        )
        return state._replace(opt_state=opt_state)

    def evolve_and_train(g_hood: TrainState, d_hood: TrainState, real: jax.Array, key):
        """One cell: `*_hood` leaves `[5, ...]`, `real [k, B, D]` -> its new pair."""
        keys = jax.random.split(key, 6)
        batch = real.shape[1]
        fitness_real = real.reshape(-1, *real.shape[2:])[: co.fitness_size]  # [M, D]
        g_losses, d_losses = loss_matrices(
            objective, g_hood.params, d_hood.params, fitness_real, keys[0]
        )
        g_slot = select(keys[1], jnp.mean(g_losses, axis=1), co.tournament_size)
        d_slot = select(keys[2], jnp.mean(d_losses, axis=0), co.tournament_size)
        generator = mutation(keys[3], take(g_hood, g_slot))
        discriminator = mutation(keys[4], take(d_hood, d_slot))
        discriminator = discriminator._replace(hparams=take(d_hood.hparams, 0))

        def gan_step(pair, inputs):
            generator, discriminator = pair
            real_batch, step_key = inputs
            g_slot_key, d_slot_key, d_key, g_key = jax.random.split(step_key, 4)
            slot = adversary_slot(g_slot_key, co.d_own_probability)
            g_adversary = _where(slot == 0, generator.params, take(g_hood.params, slot))
            discriminator, d_metrics = d_update(
                discriminator, g_adversary, real_batch, d_key, **discriminator.hparams
            )
            slot = adversary_slot(d_slot_key, co.g_own_probability)
            d_adversary = _where(slot == 0, discriminator.params, take(d_hood.params, slot))
            generator, g_metrics = g_update(generator, d_adversary, batch, g_key)
            return (generator, discriminator), {**d_metrics, **g_metrics}

        (generator, discriminator), metrics = jax.lax.scan(
            gan_step,
            (generator, discriminator),
            (real, jax.random.split(keys[5], real.shape[0])),
        )
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["g_replaced"] = (g_slot != 0).astype(jnp.float32)
        metrics["d_replaced"] = (d_slot != 0).astype(jnp.float32)
        metrics["g_fitness_best"] = jnp.min(jnp.mean(g_losses, axis=1))
        return generator, discriminator, metrics

    def mixture_step(g_params_hood, weights, real, key):
        """One cell's (1+1)-ES step: `g_params_hood` leaves `[5, ...]`, `real [R, D]`."""
        sample_key, es_key = jax.random.split(key)
        samples = jax.vmap(lambda g: objective.sample(g, sample_key, co.mixture_samples))(
            g_params_hood
        )  # [5, M, D]
        return mixture_es_step(es_key, weights, samples, real, co.score, sigma=co.mixture_sigma)

    def epoch(state: CoevolutionState, batch: jax.Array, key: jax.Array):
        if batch.shape[0] != co.epoch_batch_size:
            raise ValueError(
                f"an epoch needs {co.epoch_batch_size} real examples (cells × steps_per_epoch "
                f"× batch_size), got {batch.shape[0]}"
            )
        real = batch.reshape(n, co.steps_per_epoch, co.batch_size, *batch.shape[1:])
        real = constrain_cells(real, co.mesh, n)  # [N, k, B, D]
        train_key, mixture_key = jax.random.split(key)
        g_hood = constrain_cells(neighbourhood(state.generators, grid_shape), co.mesh, n)
        d_hood = constrain_cells(neighbourhood(state.discriminators, grid_shape), co.mesh, n)
        generators, discriminators, metrics = jax.vmap(evolve_and_train)(
            g_hood, d_hood, real, jax.random.split(train_key, n)
        )
        generators, discriminators = constrain_cells((generators, discriminators), co.mesh, n)
        trained_hood = constrain_cells(neighbourhood(generators.params, grid_shape), co.mesh, n)
        weights, scores, accepted = jax.vmap(mixture_step)(
            trained_hood,
            state.mixture_weights,
            real.reshape(n, -1, *batch.shape[1:]),
            jax.random.split(mixture_key, n),
        )
        new_state = CoevolutionState(
            state.step + 1,
            generators,
            discriminators,
            *constrain_cells((weights, scores), co.mesh, n),
        )
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics.update(
            loss=metrics["d_loss"],
            d_accuracy=0.5 * (metrics["d_accuracy_real"] + metrics["d_accuracy_fake"]),
            grad_norm=jnp.hypot(metrics["d_grad_norm"], metrics["g_grad_norm"]),
            g_learning_rate=jnp.mean(learning_rate(generators.opt_state)),
            d_learning_rate=jnp.mean(learning_rate(discriminators.opt_state)),
            mixture_score_best=jnp.max(scores),
            mixture_score_mean=jnp.mean(scores),
            mixture_accepted=jnp.mean(accepted.astype(jnp.float32)),
        )
        return new_state, metrics

    return epoch


def mixture_samples(
    coevolution: Coevolution, state: CoevolutionState, key: jax.Array, num: int
) -> jax.Array:
    """`[N, num, D]`: `num` samples of every cell's neighbourhood mixture (weights
    `state.mixture_weights`), the same latent draws for every cell."""
    objective = coevolution.objective
    hood = neighbourhood(state.generators.params, coevolution.grid_shape)  # [N, 5, ...]
    latent_key, component_key = jax.random.split(key)

    def cell(g_params_hood, weights):
        samples = jax.vmap(lambda g: objective.sample(g, latent_key, num))(g_params_hood)
        component = jax.random.categorical(component_key, jnp.log(weights), shape=(num,))
        return samples[component, jnp.arange(num)]  # [num, D]

    return jax.jit(jax.vmap(cell))(hood, state.mixture_weights)


def optimize_mixture(
    coevolution: Coevolution,
    state: CoevolutionState,
    key: jax.Array,
    real: jax.Array,
    *,
    generations: int,
    num_samples: int,
) -> tuple[CoevolutionState, jax.Array]:
    """Lipizzaner's final mixture optimization: `generations` (1+1)-ES steps on every
    cell's `mixture_weights`, starting from the evolved ones, over the final generators.
    Each cell scores on one fixed set of `num_samples` draws (fixed latents, shared by the
    5 generators, and fixed component noise), so the incumbent's score is exact and never
    falls: the weights returned score at least as high as the evolved ones on that set.
    `real [R, D]`: the real examples the score compares with. Returns the state with the
    new weights and their scores, and the scores `[N]` of the evolved weights."""
    co = coevolution
    if generations < 0 or num_samples < 1:
        raise ValueError(
            f"generations must be >= 0 and num_samples >= 1, got {generations}, {num_samples}"
        )
    objective = co.objective
    hood = neighbourhood(state.generators.params, co.grid_shape)  # [N, 5, ...]
    sample_key, gumbel_key, es_key = jax.random.split(key, 3)
    gumbel = jax.random.gumbel(gumbel_key, (num_samples, NEIGHBOURHOOD_SIZE))  # [M, 5]

    def cell(g_params_hood, weights, key):
        samples = jax.vmap(lambda g: objective.sample(g, sample_key, num_samples))(
            g_params_hood
        )  # [5, M, D]
        start = co.score(mixture_sample(samples, weights, gumbel), real)

        def generation(carry, step_key):
            weights, _ = carry
            weights, score, _ = mixture_es_step(
                step_key,
                weights,
                samples,
                real,
                co.score,
                sigma=co.mixture_sigma,
                gumbel=gumbel,
            )
            return (weights, score), None

        (weights, score), _ = jax.lax.scan(
            generation, (weights, start), jax.random.split(key, generations)
        )
        return weights, score, start

    weights, scores, start = jax.jit(jax.vmap(cell))(
        hood, state.mixture_weights, jax.random.split(es_key, co.num_cells)
    )
    return state._replace(mixture_weights=weights, mixture_score=scores), start
