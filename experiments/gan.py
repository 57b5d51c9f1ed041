"""GANs: alternating discriminator / generator training, equilibrium watch, mode collapse.

    python experiments/gan.py --workdir runs/gan                       # grid25, non-saturating
    python experiments/gan.py --workdir runs/gan_wgan --loss wgan-gp --d-steps 5
    python experiments/gan.py --workdir runs/gan_digits --dataset digits
    python experiments/gan.py --workdir runs/gan_pop --seeds 4         # 4 seeds, one program

Each step trains the discriminator on `--d-steps` batches of `--batch-size` real examples
(and as many fresh fakes), then the generator once on `--batch-size` fakes. Writes to the
workdir: summary.json with `final_d_accuracy` (the last logged D accuracy, ½ (real + fake))
and, on the Gaussian mixtures (`ring8`, `grid25`), `modes_covered`, `high_quality_fraction`
(samples within 3 std of a mode) and `mode_kl`, or, on labelled data (`digits`, `mnist`,
...), `fid`, `precision`, `recall` on the features of a classifier trained on the same
data (cached in the workdir), with the same numbers for the untrained generator;
samples.png (2-D: samples over the modes at several points of training; images: a grid of
the final samples, and samples_over_training.png), d_accuracy.png, losses.png.

`--seeds N` trains seeds `seed, ..., seed + N − 1` as one vmapped population; the summary
then holds the mean over seeds, with `*_per_seed` lists. `--stop-at-equilibrium` stops
once the D accuracy's moving average has stayed within 50 % ± `--monitor-tolerance` for
`--monitor-patience` logs (checked at every checkpoint).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

from genjax import data as gdata
from genjax import viz
from genjax.data.synthetic import MIXTURES, mixture_modes
from genjax.experiment import BaseConfig, Workdir, cli
from genjax.losses.gan import GAN_LOSSES
from genjax.metrics import (
    ConvergenceMonitor,
    feature_extractor,
    fid,
    mode_coverage,
    moving_average,
    precision_recall,
)
from genjax.models.gan import default_architecture, default_latent_dim, gan_data
from genjax.nn import count_params
from genjax.nn.gan import make_gan_nets
from genjax.train import fit, member
from genjax.train.gan import GANObjective, init_gan, init_gan_population, make_gan_step

SNAPSHOT_SAMPLES = 1000  # per member, for the 2-D snapshot figure
SNAPSHOT_IMAGES = 10  # per member and snapshot, for images


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/gan"
    dataset: str = "grid25"
    """ring8 | grid25 (Gaussian mixtures), digits | mnist | ... (images), or any table."""
    loss: Literal[tuple(GAN_LOSSES)] = "non_saturating"
    """minimax | non_saturating | wgan_gp | hinge | least_squares."""
    d_steps: int = 1
    """Discriminator updates per generator update, each on its own batch of real data."""
    steps: int = 10_000
    batch_size: int = 256
    learning_rate: float = 1e-3
    """Adam learning rate of the generator (and the discriminator unless --d-learning-rate)."""
    d_learning_rate: float | None = None
    """Adam learning rate of the discriminator; default: --learning-rate."""
    beta1: float = 0.5
    """Adam's first-moment decay for both players (0.5 as in DCGAN)."""
    lr_decay: bool = True
    """Cosine-decay both learning rates to 1 % over --steps (sharpens the modes at the end;
    raising --steps on a resumed run stretches the rest of the schedule)."""
    architecture: Literal["auto", "mlp", "dcgan"] = "auto"
    """auto: dcgan for images of at least 16×16 (mnist), mlp otherwise (2-D, 8×8 digits)."""
    hidden: tuple[int, ...] = (256, 256, 256)
    """Hidden sizes of the MLP generator and discriminator."""
    features: int = 64
    """Channels of the first DCGAN discriminator layer (the generator's last hidden one)."""
    latent_dim: int | None = None
    """Size of z ~ N(0, I); default: 2 for 2-D data, 32 otherwise."""
    gp_weight: float = 10.0
    """λ of the gradient penalty (wgan_gp only)."""
    seeds: int = 1
    """Seeds trained together as one vmapped population (seed, seed + 1, ...)."""
    eval_samples: int = 2500
    """Generated samples per seed for the mixture metrics."""
    classifier_steps: int = 2000
    """Training steps of the FID feature classifier (cached in the workdir)."""
    stop_at_equilibrium: bool = False
    """Stop early once the discriminator stays about 50 % accurate (see --monitor-*)."""
    monitor_window: int = 10
    """Logged rows in the moving average of the D accuracy."""
    monitor_tolerance: float = 0.05
    """Half-width of the band around 50 % that counts as equilibrium."""
    monitor_patience: int = 5
    """Consecutive logs the moving average must stay in the band."""
    monitor_start: int = 0
    """Steps before the monitor starts judging (early on, both players are random and D
    sits at chance too)."""

    def __post_init__(self):
        super().__post_init__()
        if self.monitor_start < 0:
            raise ValueError(f"--monitor-start must be >= 0, got {self.monitor_start}")
        for name in ("d_steps", "seeds", "eval_samples", "classifier_steps", "features"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if self.latent_dim is not None and self.latent_dim < 1:
            raise ValueError(f"--latent-dim must be >= 1, got {self.latent_dim}")
        if self.d_learning_rate is not None and not self.d_learning_rate > 0:
            raise ValueError(f"--d-learning-rate must be > 0, got {self.d_learning_rate}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"--beta1 must be in [0, 1), got {self.beta1}")


class _Hooks:
    """The workdir as `fit` sees it, plus the convergence monitor (on every logged row) and
    sample snapshots (at every checkpoint)."""

    def __init__(self, wd: Workdir, monitor: ConvergenceMonitor, snapshot):
        self.wd, self.monitor, self.snapshot = wd, monitor, snapshot

    def log(self, step: int, metrics: dict) -> None:
        self.wd.log(step, metrics)
        self.monitor.update({"step": step, **metrics})

    def save(self, step: int, state) -> None:
        self.snapshot(step, state)
        self.wd.save(step, state)


def _architecture(config: Config, ds: gdata.Dataset) -> str:
    if config.architecture != "auto":
        return config.architecture
    return default_architecture(ds.image_shape)


def _learning_rate(rate: float, updates: int, decay: bool):
    return optax.cosine_decay_schedule(rate, updates, alpha=0.01) if decay else rate


def run(config: Config) -> dict:
    wd = Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep)
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    x_train, x_test, output_activation = gan_data(ds)
    architecture = _architecture(config, ds)
    generator, discriminator = make_gan_nets(
        architecture,
        data_dim=ds.input_dim,
        image_shape=ds.image_shape,
        hidden=config.hidden,
        features=config.features,
        output_activation=output_activation,
    )
    latent_dim = config.latent_dim or default_latent_dim(ds.input_dim)
    objective = GANObjective(generator, discriminator, latent_dim, config.loss)
    g_tx = optax.adam(
        _learning_rate(config.learning_rate, config.steps, config.lr_decay), b1=config.beta1
    )
    d_tx = optax.adam(
        _learning_rate(
            config.d_learning_rate or config.learning_rate,
            config.steps * config.d_steps,
            config.lr_decay,
        ),
        b1=config.beta1,
    )
    step = make_gan_step(objective, g_tx, d_tx, d_steps=config.d_steps)

    population = config.seeds > 1
    seeds = [config.seed + i for i in range(config.seeds)]
    init_keys = jnp.stack([jax.random.fold_in(jax.random.key(s), 0) for s in seeds])  # [P]
    train_keys = jnp.stack([jax.random.fold_in(jax.random.key(s), 1) for s in seeds])  # [P]
    hparams = {"gp_weight": config.gp_weight} if GAN_LOSSES[config.loss].gradient_penalty else {}
    if population:
        fresh = init_gan_population(objective, init_keys, x_train[0], g_tx, d_tx, **hparams)
        train_key = train_keys
    else:
        fresh = init_gan(objective, init_keys[0], x_train[0], g_tx, d_tx, **hparams)
        train_key = train_keys[0]

    def members(state) -> list:
        """The population's members (a single state is its own only member)."""
        return [member(state, i) for i in range(config.seeds)] if population else [state]

    snapshot_key = jax.random.key(10_000 + config.seed)
    snapshot_count = SNAPSHOT_IMAGES if ds.image_shape is not None else SNAPSHOT_SAMPLES
    os.makedirs(wd.file("snapshots"), exist_ok=True)

    def snapshot(step_number: int, state) -> None:
        samples = [
            np.asarray(objective.sample(m.generator.params, snapshot_key, snapshot_count))
            for m in members(state)
        ]
        np.save(wd.file(f"snapshots/step_{int(step_number):07d}.npy"), np.stack(samples))

    monitor = ConvergenceMonitor(
        window=config.monitor_window,
        tolerance=config.monitor_tolerance,
        patience=config.monitor_patience,
        start_step=config.monitor_start,
    )
    # fit donates the state it trains: keep the untrained generators for the FID baseline
    untrained = [jax.tree.map(np.array, m.generator.params) for m in members(fresh)]
    state = wd.restore_or(fresh)
    for row in wd.read_metrics():  # a resumed run: replay the logged rows
        monitor.update(row)
    if int(np.ravel(state.step)[0]) == 0:
        snapshot(0, state)
    hooks = _Hooks(wd, monitor, snapshot)

    start = time.perf_counter()
    segment = config.checkpoint_every if config.stop_at_equilibrium else config.steps
    data = jnp.asarray(x_train)
    while True:
        done = int(np.ravel(state.step)[0])
        if done >= config.steps or (config.stop_at_equilibrium and monitor.converged):
            break
        state, _ = fit(
            step,
            state,
            data,
            train_key,
            num_steps=min(config.steps, (done // segment + 1) * segment),
            batch_size=config.batch_size * config.d_steps,
            steps_per_call=config.steps_per_call,
            workdir=hooks,
            checkpoint_every=config.checkpoint_every,
            population=population,
            progress=config.progress,
        )
    train_seconds = time.perf_counter() - start

    metrics = wd.read_metrics()
    last = metrics[-1] if metrics else {}
    summary = {
        "loss": config.loss,
        "dataset": ds.name,
        "architecture": architecture,
        "latent_dim": latent_dim,
        "d_steps": config.d_steps,
        "seeds": config.seeds,
        "steps": int(np.ravel(state.step)[0]),
        "train_seconds": train_seconds,
        "generator_params": count_params(members(state)[0].generator.params),
        "discriminator_params": count_params(members(state)[0].discriminator.params),
        "converged_at_step": monitor.converged_at,
        "stopped_early": bool(config.stop_at_equilibrium and monitor.converged)
        and int(np.ravel(state.step)[0]) < config.steps,
    }
    for name in ("d_accuracy", "d_accuracy_real", "d_accuracy_fake", "d_loss", "g_loss"):
        if name in last:
            key = "final_" + name
            _put(summary, key, np.ravel(last[name]), population)

    eval_key = jax.random.key(20_000 + config.seed)
    if ds.name in MIXTURES:
        mixture = mixture_modes(ds.name)
        summary["num_modes"] = len(mixture.centres)
        results = [
            mode_coverage(
                np.asarray(objective.sample(m.generator.params, eval_key, config.eval_samples)),
                mixture.centres,
                mixture.std,
            )
            for m in members(state)
        ]
        for name in ("modes_covered", "high_quality_fraction", "mode_kl"):
            _put(summary, name, np.array([r[name] for r in results], float), population)
        summary["data_high_quality_fraction"] = mode_coverage(x_test, mixture.centres, mixture.std)[
            "high_quality_fraction"
        ]
    elif ds.y_train is not None and ds.num_classes is not None:
        summary.update(
            _sample_quality(config, wd, ds, objective, members(state), untrained, eval_key)
        )

    final_samples = np.asarray(objective.sample(members(state)[0].generator.params, eval_key, 100))
    _figures(config, wd, ds, metrics, final_samples)
    return wd.write_summary(summary)


def _put(summary: dict, name: str, values: np.ndarray, population: bool) -> None:
    """One number per seed: the value itself, or the mean with `_per_seed` and `_std`."""
    if not population:
        value = values[0].item()
        summary[name] = int(value) if name == "modes_covered" else value
        return
    summary[name] = float(np.mean(values))
    summary[f"{name}_std"] = float(np.std(values))
    summary[f"{name}_per_seed"] = values.tolist()


def _sample_quality(config, wd, ds, objective, trained, untrained, eval_key) -> dict:
    """FID, precision and recall of generated samples (`trained` members' generators and the
    `untrained` generator parameters) against the training set, on the features of a
    classifier trained on it."""
    x_train, x_test, _ = gan_data(ds)
    prepared = dataclasses.replace(ds, x_train=x_train, x_test=x_test)
    extractor = feature_extractor(
        prepared,
        cache_dir=wd.file("feature_classifier"),
        seed=config.seed,
        steps=config.classifier_steps,
    )
    num = min(len(x_train), 10_000)
    real = extractor(x_train[:num])
    out = {"classifier_test_accuracy": extractor.test_accuracy, "eval_samples": num}
    population = config.seeds > 1
    generators = {"": [m.generator.params for m in trained], "_untrained": untrained}
    for tag, params in generators.items():
        scores = []
        for g_params in params:
            fake = extractor(np.asarray(objective.sample(g_params, eval_key, num)))
            scores.append((fid(real, fake), *precision_recall(real, fake)))
        scores = np.array(scores)  # [P, 3]
        for i, name in enumerate(("fid", "precision", "recall")):
            _put(out, name + tag, scores[:, i], population)
    test = extractor(x_test)
    out["fid_test_set"] = fid(real, test)
    out["precision_test_set"], out["recall_test_set"] = precision_recall(real, test)
    return out


# --- figures -----------------------------------------------------------------------------
def _snapshots(wd: Workdir) -> dict[int, np.ndarray]:
    """Step -> samples `[P, n, D]` saved at step 0 and at every checkpoint."""
    paths = sorted(glob.glob(wd.file("snapshots/step_*.npy")))
    return {int(os.path.basename(p)[5:-4]): np.load(p) for p in paths}


def _pick(steps: list[int], count: int) -> list[int]:
    """`count` steps spread evenly over `steps`, always with the first and the last."""
    if len(steps) <= count:
        return steps
    index = np.unique(np.round(np.linspace(0, len(steps) - 1, count)).astype(int))
    return [steps[i] for i in index]


def _figures(config: Config, wd: Workdir, ds, metrics: list[dict], final_samples) -> None:
    """samples.png (and samples_over_training.png for images), d_accuracy.png, losses.png."""
    snapshots = _snapshots(wd)
    shown = _pick(sorted(snapshots), 6)
    if ds.name in MIXTURES:
        mixture_snapshots(
            {s: snapshots[s] for s in shown},
            mixture_modes(ds.name),
            wd.file("samples.png"),
            title=f"{config.loss} GAN on {ds.name}: samples during training",
        )
    elif ds.image_shape is not None:
        viz.image_grid(
            final_samples,
            wd.file("samples.png"),
            image_shape=ds.image_shape,
            title=f"{config.loss} GAN on {ds.name}: samples after {shown[-1]} steps",
        )
        viz.image_rows(
            [snapshots[s][0] for s in shown],
            [f"step {s}" for s in shown],
            wd.file("samples_over_training.png"),
            image_shape=ds.image_shape,
            title=f"{config.loss} GAN on {ds.name}: samples during training",
        )
    if metrics:
        d_accuracy_figure(
            metrics,
            wd.file("d_accuracy.png"),
            window=config.monitor_window,
            tolerance=config.monitor_tolerance,
            title=f"{config.loss} GAN on {ds.name}: discriminator accuracy",
        )
        loss_figure(metrics, wd.file("losses.png"), title=f"{config.loss} GAN on {ds.name}: losses")


def mixture_snapshots(snapshots: dict[int, np.ndarray], mixture, path: str, *, title: str) -> str:
    """Columns: steps; rows: members (up to 4). Samples (blue) over the modes (red rings)."""
    steps = sorted(snapshots)
    rows = min(4, snapshots[steps[0]].shape[0])
    centres = mixture.centres
    span = np.abs(centres).max() * 1.35
    fig = Figure(figsize=(2.4 * len(steps), 2.4 * rows + 0.5))
    axes = fig.subplots(rows, len(steps), squeeze=False)
    for c, s in enumerate(steps):
        for r in range(rows):
            ax = axes[r, c]
            x = snapshots[s][r]
            ax.scatter(
                centres[:, 0], centres[:, 1], s=40, facecolors="none", edgecolors="tab:red", lw=0.7
            )
            ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.5, color="tab:blue", rasterized=True)
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {s}", fontsize=9)
            if c == 0 and rows > 1:
                ax.set_ylabel(f"seed {r}", fontsize=9)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def d_accuracy_figure(
    metrics: list[dict], path: str, *, window: int, tolerance: float, title: str
) -> str:
    """D accuracy on real and fake examples, their mean and its moving average, with the
    equilibrium band `50 % ± tolerance` shaded."""
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    steps = np.array([m["step"] for m in metrics])
    ax.axhspan(0.5 - tolerance, 0.5 + tolerance, color="grey", alpha=0.2, label="50 % ± tol")
    styles = {
        "d_accuracy_real": ("tab:green", 0.5, "on real"),
        "d_accuracy_fake": ("tab:orange", 0.5, "on fake"),
    }
    for key, (colour, alpha, label) in styles.items():
        values = np.array([m[key] for m in metrics], float).reshape(len(steps), -1)  # [T, P]
        for i in range(values.shape[1]):
            ax.plot(
                steps,
                values[:, i],
                color=colour,
                alpha=alpha,
                lw=0.8,
                label=label if i == 0 else None,
            )
    mean = np.array([m["d_accuracy"] for m in metrics], float).reshape(len(steps), -1)
    smooth = moving_average(mean, window)
    for i in range(mean.shape[1]):
        label = f"mean, moving average of {window} logs" if i == 0 else None
        ax.plot(steps, smooth[:, i], color="black", lw=1.5, label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def loss_figure(metrics: list[dict], path: str, *, title: str) -> str:
    """The discriminator's and the generator's loss against the step (one line per seed)."""
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    steps = np.array([m["step"] for m in metrics])
    for key, colour in (("d_loss", "tab:blue"), ("g_loss", "tab:red")):
        values = np.array([m[key] for m in metrics], float).reshape(len(steps), -1)  # [T, P]
        for i in range(values.shape[1]):
            ax.plot(
                steps, values[:, i], color=colour, lw=1, alpha=0.8, label=key if i == 0 else None
            )
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


if __name__ == "__main__":
    summary = cli(Config, run)
    print(
        {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in summary.items()
            if not k.endswith("_per_seed")
        }
    )
