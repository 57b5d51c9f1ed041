"""Lipizzaner: co-evolutionary GAN training on a toroidal grid, against independent pairs.

    python experiments/coevolution.py --workdir runs/coevolution                # grid25, 3×3
    python experiments/coevolution.py --workdir runs/co_base --baseline         # + 9 lone pairs
    python experiments/coevolution.py --workdir runs/co_digits --dataset digits --grid 2x2
    XLA_FLAGS=--xla_force_host_platform_device_count=8 \\
      python experiments/coevolution.py --workdir runs/co8 --grid 4x4 --devices 8

Every cell of the `--grid` holds a generator / discriminator pair; each epoch (one compiled
program for all cells, `genjax.coevolution.epoch`) evaluates the neighbourhood's players
against each other, selects by tournament, mutates learning rates, trains every cell's pair
for `--steps-per-epoch` GAN steps against neighbours, and takes one (1+1)-ES step on each
cell's mixture weights over its neighbourhood's generators, scored by the dataset's quality
metric (on the Gaussian mixtures the modes that `--eval-samples` fresh draws are expected to
cover + the high-quality share, `mode_score(..., draws=)`; −FID on the features of a
classifier trained on the data for images). `--steps` counts GAN steps per cell, so
`--baseline` trains as many independent pairs (from the same initial parameters) for the
same `--steps` each: the same number of gradient steps in total.

Epochs are `genjax.train.fit` steps (the state's `step` counts epochs; `--steps-per-call`
and `--checkpoint-every` are converted from GAN steps to epochs), so checkpoints, resume
and metrics.jsonl work as for every model; the baseline lives in `<workdir>/baseline`.

After training, Lipizzaner's final mixture optimization (`--final-es-generations` ES
steps per cell on the final generators, `genjax.coevolution.optimize_mixture`) tunes the
weights to the generators they mix.

summary.json: for the mixture of the best neighbourhood's generators (best by the quality
metric on fresh samples) `modes_covered`, `high_quality_fraction`, `mode_kl` (mixtures) or
`fid` (images), the same per cell (`*_per_cell`), with the weights as evolved during
training, before the final ES (`evolved_*`), and for each cell's own generator
(`single_*`), and with `--baseline` `baseline_*` for the best independent pair and per
pair; the final learning rates of every cell's players. Figures: grid_samples.png (each
cell's own generator), mixture_weights.png, quality_over_time.png (the ES score of the
best and the mean cell per epoch).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

from genjax import data as gdata
from genjax import viz
from genjax.coevolution import (
    Coevolution,
    cell_mesh,
    frechet_score,
    init_grid,
    learning_rate,
    make_epoch,
    mixture_samples,
    mode_score,
    optimize_mixture,
    parse_grid,
    shard_cells,
)
from genjax.coevolution.grid import OFFSETS
from genjax.data.synthetic import MIXTURES, mixture_modes
from genjax.experiment import BaseConfig, Workdir, cli, train
from genjax.losses.gan import GAN_LOSSES
from genjax.metrics import feature_extractor, fid, mode_coverage
from genjax.models.gan import default_architecture, default_latent_dim, gan_data
from genjax.nn.gan import make_gan_nets
from genjax.train.gan import GANObjective, init_gan_population, make_gan_step

DATASETS = ("ring8", "grid25", "digits", "mnist")
SLOT_NAMES = ("self", "north", "south", "west", "east")


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/coevolution"
    dataset: Literal[DATASETS] = "grid25"
    """ring8 | grid25 (Gaussian mixtures) | digits | mnist (images)."""
    grid: str = "3x3"
    """The torus of cells, ROWSxCOLUMNS."""
    devices: int = 1
    """Devices to shard the cells over (a divisor of the cell count)."""
    steps: int = 4000
    """GAN steps per cell (and per baseline pair)."""
    steps_per_epoch: int = 100
    """GAN steps of every cell between two evolutionary steps (Lipizzaner: a pass over the
    data). Selection copies a neighbour's player into ~60% of the cells per epoch, so on a
    3x3 torus frequent selection lets one lineage take over the grid and its mixtures (with
    20, on seed 1 every cell missed the same 3 modes: README)."""
    batch_size: int = 128
    learning_rate: float = 1e-3
    """Initial Adam learning rate of both players (then mutated per cell)."""
    steps_per_call: int = 400
    """GAN steps per jit call, rounded to whole epochs."""
    checkpoint_every: int = 2000
    """GAN steps between checkpoints, rounded to whole epochs."""
    loss: Literal[tuple(GAN_LOSSES)] = "non_saturating"
    beta1: float = 0.5
    hidden: tuple[int, ...] = (128, 128, 128)
    """Hidden sizes of the MLP generator and discriminator."""
    latent_dim: int | None = None
    """Size of z ~ N(0, I); default: 2 for 2-D data, 32 otherwise."""
    tournament_size: int = 2
    """Neighbourhood slots per selection tournament (1..5)."""
    mutation_probability: float = 0.5
    mutation_std: float = 1e-4
    """σ of the additive Gaussian mutation of the learning rates."""
    min_learning_rate: float | None = None
    """Floor of the mutated learning rates (default: --learning-rate). The GAN-loss fitness
    favours slow players, so selection drives the rates down to the floor (to ~1e-5 with a
    floor of 1e-5, to 5e-4 with 5e-4, and the generators' quality with them: README)."""
    mixture_sigma: float = 0.05
    """σ of the mixture weights' (1+1)-ES step."""
    mixture_samples: int = 500
    """Generated samples per ES score."""
    fitness_samples: int = 512
    """Real and generated examples per fitness evaluation (selection's ranking)."""
    final_es_generations: int = 200
    """(1+1)-ES generations on the final generators' mixture weights (Lipizzaner's
    optimization of the weights at the end), per cell; 0 skips it."""
    final_es_samples: int = 2500
    """Draws per cell that the final ES scores on (one fixed set)."""
    d_own_probability: float = 1.0
    """Chance that a D update's fakes come from the cell's own G, not a neighbour's."""
    g_own_probability: float = 1.0
    """Chance that a G update plays the cell's own D, not a neighbour's (below 1 the grid
    collapsed on grid25 in our runs: see the README)."""
    baseline: bool = False
    """Also train one independent pair per cell for the same --steps (same initialization)."""
    eval_samples: int = 2500
    """Generated samples per mixture / pair in the final evaluation."""
    classifier_steps: int = 2000
    """Training steps of the FID feature classifier (images; cached in the workdir)."""

    def __post_init__(self):
        super().__post_init__()
        rows, columns = parse_grid(self.grid)
        for name in (
            "steps_per_epoch",
            "eval_samples",
            "classifier_steps",
            "devices",
            "fitness_samples",
            "final_es_samples",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if self.steps < self.steps_per_epoch:
            raise ValueError(
                f"--steps ({self.steps}) must be at least --steps-per-epoch "
                f"({self.steps_per_epoch})"
            )
        if self.final_es_generations < 0:
            raise ValueError(
                f"--final-es-generations must be >= 0, got {self.final_es_generations}"
            )
        if self.skip_nonfinite:
            raise ValueError("--skip-nonfinite is not supported by the co-evolution epochs")
        if (rows * columns) % self.devices:
            raise ValueError(f"{rows * columns} cells do not split over {self.devices} devices")


def _epochs(steps: int, config: Config) -> int:
    return max(1, steps // config.steps_per_epoch)


def run(config: Config) -> dict:
    grid_shape = parse_grid(config.grid)
    num_cells = grid_shape[0] * grid_shape[1]
    wd = Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep)
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    x_train, x_test, output_activation = gan_data(ds)
    generator, discriminator = make_gan_nets(
        default_architecture(ds.image_shape),
        data_dim=ds.input_dim,
        image_shape=ds.image_shape,
        hidden=config.hidden,
        output_activation=output_activation,
    )
    latent_dim = config.latent_dim or default_latent_dim(ds.input_dim)
    objective = GANObjective(generator, discriminator, latent_dim, config.loss)

    # the quality metric: it scores the mixture ES and picks the best neighbourhood / pair
    if ds.name in MIXTURES:
        mixture = mixture_modes(ds.name)
        # the modes that the final evaluation's draws are expected to cover, + quality
        score = mode_score(mixture.centres, mixture.std, draws=config.eval_samples)
        extractor = None
    else:
        extractor = feature_extractor(
            dataclasses.replace(ds, x_train=x_train, x_test=x_test),
            cache_dir=wd.file("feature_classifier"),
            seed=config.seed,
            steps=config.classifier_steps,
        )

        def features(x):
            return extractor.model.apply({"params": extractor.params}, x, features_only=True)

        score = frechet_score(features)

    mesh = cell_mesh(config.devices) if config.devices > 1 else None
    coevolution = Coevolution(
        objective,
        grid_shape,
        score,
        steps_per_epoch=config.steps_per_epoch,
        batch_size=config.batch_size,
        tournament_size=config.tournament_size,
        mutation_probability=config.mutation_probability,
        mutation_std=config.mutation_std,
        min_learning_rate=config.min_learning_rate or config.learning_rate,
        mixture_sigma=config.mixture_sigma,
        mixture_samples=config.mixture_samples,
        fitness_samples=config.fitness_samples,
        d_own_probability=config.d_own_probability,
        g_own_probability=config.g_own_probability,
        beta1=config.beta1,
        mesh=mesh,
    )
    base_key = jax.random.key(config.seed)
    init_key, train_key, eval_key = (jax.random.fold_in(base_key, i) for i in range(3))
    es_key = jax.random.fold_in(base_key, 4)
    hparams = {"gp_weight": 10.0} if GAN_LOSSES[config.loss].gradient_penalty else {}
    state = init_grid(
        coevolution, init_key, x_train[0], learning_rate=config.learning_rate, **hparams
    )
    if mesh is not None:
        state = shard_cells(state, mesh, num_cells)
    base_fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(BaseConfig)}
    base_fields.update(  # fit's steps are epochs
        steps=_epochs(config.steps, config),
        batch_size=coevolution.epoch_batch_size,
        steps_per_call=_epochs(config.steps_per_call, config),
        checkpoint_every=_epochs(config.checkpoint_every, config),
    )
    epochs_config = BaseConfig(**base_fields)
    data = jnp.asarray(x_train)
    start = time.perf_counter()
    state = train(wd, epochs_config, make_epoch(coevolution), state, data, train_key)
    summary = {
        "dataset": ds.name,
        "grid": config.grid,
        "cells": num_cells,
        "devices": config.devices,
        "epochs": int(state.step),
        "gan_steps_per_cell": int(state.step) * config.steps_per_epoch,
        "train_seconds": time.perf_counter() - start,
    }

    quality = _quality(ds, x_train, extractor)
    if config.final_es_generations:
        evolved = np.asarray(mixture_samples(coevolution, state, eval_key, config.eval_samples))
        summary.update(_report("evolved_", evolved, quality, per="cell"))  # before the final ES
        state, _ = optimize_mixture(
            coevolution,
            state,
            es_key,
            data[: config.final_es_samples],
            generations=config.final_es_generations,
            num_samples=config.final_es_samples,
        )
    mixtures = np.asarray(mixture_samples(coevolution, state, eval_key, config.eval_samples))
    singles = np.asarray(
        jax.vmap(lambda g: objective.sample(g, eval_key, config.eval_samples))(
            state.generators.params
        )
    )  # [N, M, D]
    summary.update(_report("", mixtures, quality, per="cell"))
    summary.update(_report("single_", singles, quality, per="cell"))
    summary["mixture_weights_best_cell"] = np.asarray(
        state.mixture_weights[summary["best_cell"]]
    ).tolist()
    for name, players in (("g", state.generators), ("d", state.discriminators)):
        summary[f"final_{name}_learning_rates"] = np.asarray(
            learning_rate(players.opt_state)
        ).tolist()

    if config.baseline:
        pairs, seconds = _train_baseline(config, objective, x_train, init_key, num_cells, wd)
        samples = np.asarray(
            jax.vmap(lambda g: objective.sample(g, eval_key, config.eval_samples))(
                pairs.generator.params
            )
        )
        summary.update(_report("baseline_", samples, quality, per="pair"))
        summary["baseline_train_seconds"] = seconds

    _figures(config, wd, ds, state, singles, grid_shape)
    return wd.write_summary(summary)


def _quality(ds, x_train, extractor):
    """`quality(samples [M, D]) -> dict` of the dataset's metrics; the first key ranks."""
    if ds.name in MIXTURES:
        mixture = mixture_modes(ds.name)

        def mixture_quality(samples):
            result = mode_coverage(samples, mixture.centres, mixture.std)
            return {k: result[k] for k in ("modes_covered", "high_quality_fraction", "mode_kl")}

        return mixture_quality
    real = extractor(x_train[:10_000])

    def image_quality(samples):
        return {"fid": fid(real, extractor(samples))}

    return image_quality


def _rank(result: dict) -> tuple:
    """Higher is better: more modes then more quality, or a lower FID."""
    if "fid" in result:
        return (-result["fid"],)
    return (result["modes_covered"], result["high_quality_fraction"])


def _report(prefix: str, samples: np.ndarray, quality, *, per: str) -> dict:
    """The best member's metrics under `prefix`, its index, and every member's metrics."""
    results = [quality(s) for s in samples]
    best = max(range(len(results)), key=lambda i: _rank(results[i]))
    out = {f"{prefix}best_{per}": best}
    for name in results[0]:
        out[prefix + name] = results[best][name]
        out[f"{prefix}{name}_per_{per}"] = [r[name] for r in results]
    return out


def _train_baseline(config, objective, x_train, init_key, num_cells, wd):
    """`num_cells` independent pairs from the grid's initial parameters, `--steps` each, as
    one vmapped population in `<workdir>/baseline`."""
    tx = optax.adam(config.learning_rate, b1=config.beta1)
    hparams = {"gp_weight": 10.0} if GAN_LOSSES[config.loss].gradient_penalty else {}
    pairs = init_gan_population(
        objective, jax.random.split(init_key, num_cells), x_train[0], tx, tx, **hparams
    )
    keys = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), 3), num_cells)
    start = time.perf_counter()
    with Workdir(wd.file("baseline"), config, keep=config.keep) as baseline_wd:
        pairs = train(
            baseline_wd,
            config,
            make_gan_step(objective, tx, tx),
            pairs,
            jnp.asarray(x_train),
            keys,
            population=True,
        )
    return pairs, time.perf_counter() - start


# --- figures -----------------------------------------------------------------------------
def _figures(config, wd, ds, state, singles, grid_shape) -> None:
    rows, columns = grid_shape
    if ds.name in MIXTURES:
        grid_scatter(singles, mixture_modes(ds.name), grid_shape, wd.file("grid_samples.png"))
    else:
        viz.image_rows(
            [s[:10] for s in singles],
            [f"cell {c // columns},{c % columns}" for c in range(len(singles))],
            wd.file("grid_samples.png"),
            image_shape=ds.image_shape,
            title=f"co-evolved generators on {ds.name} ({config.grid})",
        )
    weights_figure(np.asarray(state.mixture_weights), grid_shape, wd.file("mixture_weights.png"))
    viz.training_curves(
        wd.read_metrics(),
        ["mixture_score_best", "mixture_score_mean"],
        wd.file("quality_over_time.png"),
        title=f"mixture ES score on {ds.name} (per epoch)",
    )


def grid_scatter(samples: np.ndarray, mixture, grid_shape, path: str) -> str:
    """One panel per cell (laid out as the grid): its samples (blue) over the modes (red)."""
    rows, columns = grid_shape
    span = np.abs(mixture.centres).max() * 1.35
    fig = Figure(figsize=(2.2 * columns, 2.2 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for c, points in enumerate(samples):
        ax = axes[c // columns, c % columns]
        ax.scatter(points[:1000, 0], points[:1000, 1], s=1, alpha=0.4)
        ax.scatter(mixture.centres[:, 0], mixture.centres[:, 1], s=8, c="red", marker="x")
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"cell {c // columns},{c % columns}", fontsize=8)
    fig.suptitle("each cell's generator")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def weights_figure(weights: np.ndarray, grid_shape, path: str) -> str:
    """Each cell's mixture weights over its neighbourhood slots, `[N, 5]` as a heat map."""
    rows, columns = grid_shape
    fig = Figure(figsize=(4.5, 0.35 * len(weights) + 1.2))
    ax = fig.subplots()
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(0.5, float(weights.max())))
    ax.set_xticks(range(len(OFFSETS)), SLOT_NAMES)
    ax.set_yticks(
        range(len(weights)), [f"cell {c // columns},{c % columns}" for c in range(len(weights))]
    )
    for c in range(len(weights)):
        for k in range(len(OFFSETS)):
            ax.text(k, c, f"{weights[c, k]:.2f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(image, ax=ax)
    ax.set_title("mixture weights over the neighbourhood's generators")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


if __name__ == "__main__":
    cli(Config, run)
