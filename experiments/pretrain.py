"""Unsupervised pre-training: a stacked autoencoder's encoder as the start of a classifier
trained on few labels.

    python experiments/pretrain.py --workdir runs/pretrain --labels-per-class 1 5 10 50 all

1. A stacked autoencoder (`--hidden`, `--latent-dim`) is trained without labels on the whole
   training set for `--pretrain-steps` steps with Adam at `--learning-rate` (its run lives
   in `<workdir>/autoencoder/`). By default it is the denoising one (`--pretrain-model`,
   `--noise`, `--noise-level`): the encoder sees `x + 0.3 ε`, the loss compares with `x`.
2. A classifier, the same encoder plus a linear softmax head, is trained on `n` labelled
   examples per class for every `n` in `--labels-per-class` and each of `--seeds` seeds,
   once starting from the autoencoder's encoder weights ("pretrained") and once from a
   random initialization ("random"); all fine-tuning runs train together for `--steps`
   steps as ONE vmapped population (`fit(..., population=True)`), every weight trained, with
   `--finetune-optimizer` (SGD with momentum 0.9 by default) at `--finetune-learning-rate`.
   Both members of a (n, seed) pair share the labelled subset, the head's initial weights
   and the minibatch draws, so they differ only in the encoder's starting point.

Why these defaults (measured on digits, see the README): the plain stacked autoencoder's
codes classify no better than the raw pixels, and its pre-training gives no gain; the
denoising one's do. And Adam moves every weight by about its learning rate per step
whatever its gradient, which on 10 labelled examples erodes the pre-trained features within
a few dozen steps; SGD's steps scale with the gradient and keep them.

Different subset sizes under one vmap: every labelled subset `S_k` (one per (n, seed)) is
written as a column of an index table `[M, K]` with `M = max_k |S_k|` slots, its examples
repeated cyclically to fill the column, and a weight table `[M, K]` holding `1 / (number of
slots the example fills)`. `fit` draws minibatches of slots from the shared tables; member
`i` reads its own column `subset_i` (a per-member hyperparameter in `TrainState.hparams`),
gathers those examples from the training set and minimizes the weighted mean
`Σ_b w_b ℓ(x_b, y_b) / Σ_b w_b` of the softmax cross-entropy `ℓ`, so each labelled example
carries the same expected weight whatever `|S_k|` is. Only the index tables are copied per
subset, not the images.

summary.json: `test_accuracy_{pretrained,random}_{n}_{mean,std}` over the seeds (std: the
population standard deviation, ddof=0), the paired gain `test_accuracy_gain_{n}_{mean,std}`
(pretrained minus random member of the same pair), `pretrained_wins_{n}` (pairs won by the
pre-trained member), the autoencoder's held-out reconstruction loss and its mean baseline.
Figure: label_efficiency.png (test accuracy against labels per class, mean ± std over seeds).
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
from genjax.corruption import make_corruption
from genjax.experiment import BaseConfig, Workdir, cli, optimizer, train
from genjax.models.autoencoder import (
    EncoderClassifier,
    make_reconstruction_loss,
    mean_baseline_loss,
    preset,
    reconstruction_inputs,
    with_encoder,
)
from genjax.train import TrainState, init_population, make_train_step

INITS = ("pretrained", "random")


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/pretrain"
    steps: int = 1000
    """Fine-tuning steps of the classifier population."""
    pretrain_steps: int = 3000
    """Training steps of the stacked autoencoder (no labels, whole training set)."""
    hidden: tuple[int, ...] = (256, 128)
    """Hidden sizes of the encoder (the autoencoder's decoder mirrors them)."""
    latent_dim: int = 16
    """Code size: the encoder's output, the softmax head's input."""
    pretrain_model: Literal["stacked", "denoising"] = "denoising"
    """The autoencoder pre-trained: stacked (clean inputs) or denoising (corrupted inputs)."""
    noise: Literal["gaussian", "dropout"] = "gaussian"
    """Corruption of the denoising autoencoder's inputs."""
    noise_level: float = 0.3
    """Standard deviation of the Gaussian noise, or the dropout rate."""
    finetune_optimizer: Literal["sgd", "adam"] = "sgd"
    """Optimizer of the classifiers (sgd: with momentum 0.9); the autoencoder uses Adam."""
    finetune_learning_rate: float = 0.01
    """Learning rate of the classifiers (--learning-rate is the autoencoder's)."""
    labels_per_class: tuple[int | Literal["all"], ...] = (1, 5, 10, 50, "all")
    """Labelled training examples per class for the fine-tuning; all: the whole training set."""
    seeds: int = 5
    """Seeds per labels-per-class value (labelled subset, head init, minibatches)."""
    likelihood: Literal["auto", "bernoulli", "gaussian"] = "auto"
    """Autoencoder likelihood; auto: bernoulli for [0, 1] data, gaussian otherwise."""

    def __post_init__(self):
        super().__post_init__()
        if not self.finetune_learning_rate > 0:
            raise ValueError(
                f"--finetune-learning-rate must be > 0, got {self.finetune_learning_rate}"
            )
        if self.pretrain_steps < 1 or self.seeds < 1 or self.latent_dim < 1:
            raise ValueError(
                "--pretrain-steps, --seeds and --latent-dim must be >= 1, got "
                f"{self.pretrain_steps}, {self.seeds}, {self.latent_dim}"
            )
        if not self.labels_per_class:
            raise ValueError("--labels-per-class needs at least one value")
        bad = [n for n in self.labels_per_class if n != "all" and n < 1]
        if bad:
            raise ValueError(f"--labels-per-class values must be >= 1 or 'all', got {bad}")
        if len(set(self.labels_per_class)) != len(self.labels_per_class):
            raise ValueError(f"--labels-per-class has repeats: {self.labels_per_class}")


def labelled_subset(
    y: np.ndarray, n: int | str, num_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of `n` examples of each class drawn without replacement (all for "all")."""
    if n == "all":
        return np.arange(len(y))
    counts = np.bincount(y, minlength=num_classes)
    if counts.min() < n:
        raise ValueError(
            f"{n} labels per class asked, but class {int(counts.argmin())} has only "
            f"{int(counts.min())} training examples"
        )
    picks = [rng.choice(np.flatnonzero(y == c), n, replace=False) for c in range(num_classes)]
    return np.sort(np.concatenate(picks))


def slot_tables(subsets: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Subsets of different sizes as equal-length columns: `{"index": [M, K] int32,
    "weight": [M, K] float32}` with `M = max |S_k|`.

    Column `k` holds `S_k` repeated cyclically; an example filling `c` slots has weight
    `1/c` in each, so every example of `S_k` has total weight 1.
    """
    slots = max(len(s) for s in subsets)
    index = np.empty((slots, len(subsets)), np.int32)
    weight = np.empty((slots, len(subsets)), np.float32)
    for k, subset in enumerate(subsets):
        position = np.arange(slots) % len(subset)  # [M]
        copies = np.bincount(position, minlength=len(subset))  # slots filled by each example
        index[:, k] = subset[position]
        weight[:, k] = 1.0 / copies[position]
    return {"index": index, "weight": weight}


def make_classifier_loss(classifier: EncoderClassifier, x: jax.Array, y: jax.Array):
    """`loss_fn(params, slots, key, *, subset) -> (loss, metrics)` for one member.

    `slots` is a minibatch of the slot tables (`index`, `weight`: `[B, K]`); the member uses
    column `subset` and minimizes `Σ_b w_b ℓ_b / Σ_b w_b` with `ℓ_b` the softmax
    cross-entropy of example `index_b` of `(x, y)`.
    """

    def loss_fn(params, slots, key, *, subset):
        del key  # deterministic: no noise in the classifier
        column = subset.astype(jnp.int32)
        index = slots["index"][:, column]  # [B]
        weight = slots["weight"][:, column]  # [B]
        logits = classifier.apply({"params": params}, x[index])  # [B, num_classes]
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, y[index])  # [B]
        correct = (jnp.argmax(logits, -1) == y[index]).astype(jnp.float32)
        total = jnp.sum(weight)
        loss = jnp.sum(weight * nll) / total
        return loss, {"cross_entropy": loss, "accuracy": jnp.sum(weight * correct) / total}

    return loss_fn


def init_members(
    classifier: EncoderClassifier,
    tx: optax.GradientTransformation,
    autoencoder_params: dict,
    keys: jax.Array,
    subsets: np.ndarray,
    example: jax.Array,
) -> TrainState:
    """The population `[pretrained members…, random members…]`, two per key: the pair for
    `keys[i]` shares its head's initial weights and its labelled subset `subsets[i]`; the
    pretrained member's encoder is the autoencoder's, the random one's is drawn from
    `keys[i]` too."""

    @jax.jit  # one compiled program instead of many small eager ones
    def build(autoencoder_params, keys, subsets):
        def random_init(key):
            return classifier.init(key, example)["params"]

        def pretrained_init(key):
            return with_encoder(random_init(key), autoencoder_params)

        members = [
            init_population(init, tx, keys, subset=subsets)
            for init in (pretrained_init, random_init)
        ]
        return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *members)

    return build(autoencoder_params, keys, jnp.asarray(subsets, jnp.float32))


def plot_label_efficiency(accuracy: dict, positions: dict, path: str, *, title: str) -> str:
    """Test accuracy `accuracy[init][n] = [seeds]` against labels per class `positions[n]`
    (log axis), mean ± std over seeds."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ns = list(positions)
    for init, style in zip(INITS, ("o-", "s--"), strict=True):
        values = [np.asarray(accuracy[init][n]) for n in ns]
        ax.errorbar(
            [positions[n] for n in ns],
            [v.mean() for v in values],
            yerr=[v.std() for v in values],
            fmt=style,
            capsize=3,
            label=f"{init} init",
        )
    ax.set_xscale("log")
    ax.set_xticks([positions[n] for n in ns], [str(n) for n in ns])
    ax.minorticks_off()
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def run(config: Config) -> dict:
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    if ds.x_train.ndim != 2 or ds.y_train is None or ds.num_classes is None:
        raise ValueError(
            f"{ds.name}: pre-training needs labelled [N, D] data, got {ds.x_train.shape} "
            f"with {'no' if ds.y_train is None else ds.num_classes} classes"
        )
    likelihood, x_train, x_test = reconstruction_inputs(ds, config.likelihood)
    autoencoder, denoising = preset(
        config.pretrain_model, ds.input_dim, hidden=config.hidden, latent_dim=config.latent_dim
    )
    corrupt = make_corruption(config.noise, config.noise_level) if denoising else None
    rng = np.random.default_rng(config.seed)
    pairs = [(n, s) for n in config.labels_per_class for s in range(config.seeds)]
    subsets = [labelled_subset(ds.y_train, n, ds.num_classes, rng) for n, _ in pairs]
    # every check above runs before the workdir is touched
    with Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep) as wd:
        key = jax.random.key(config.seed)
        ae_key, ae_train_key, member_key, eval_key = jax.random.split(key, 4)
        tx = optimizer(config)  # Adam; skips non-finite updates with --skip-nonfinite

        # 1. the stacked (denoising) autoencoder, without labels, on the whole training set
        ae_config = dataclasses.replace(config, steps=config.pretrain_steps, overwrite=False)
        reconstruction = make_reconstruction_loss(autoencoder, likelihood=likelihood)
        start = time.perf_counter()
        with Workdir(wd.file("autoencoder"), ae_config, keep=config.keep) as ae_wd:
            ae_state = train(
                ae_wd,
                ae_config,
                make_train_step(
                    make_reconstruction_loss(autoencoder, likelihood=likelihood, corrupt=corrupt),
                    tx,
                ),
                TrainState.create(autoencoder.init(ae_key, x_train[:1])["params"], tx),
                jnp.asarray(x_train),
                ae_train_key,
            )
        pretrain_seconds = time.perf_counter() - start

        # 2. the classifier population: (init, n, seed), all fine-tuned in one vmapped program
        classifier = EncoderClassifier(config.hidden, config.latent_dim, ds.num_classes)
        if config.finetune_optimizer == "sgd":
            tx = optimizer(config, optax.sgd(config.finetune_learning_rate, momentum=0.9))
        else:
            tx = optimizer(config, optax.adam(config.finetune_learning_rate))
        keys = jax.random.split(member_key, len(pairs))
        population = init_members(
            classifier, tx, ae_state.params, keys, np.arange(len(pairs)), jnp.asarray(x_train[:1])
        )
        loss_fn = make_classifier_loss(classifier, jnp.asarray(x_train), jnp.asarray(ds.y_train))
        start = time.perf_counter()
        population = train(
            wd,
            config,
            make_train_step(loss_fn, tx),
            population,
            jax.tree.map(jnp.asarray, slot_tables(subsets)),
            jnp.concatenate([keys, keys]),  # a pair draws the same minibatches
            population=True,
        )
        finetune_seconds = time.perf_counter() - start

        logits = jax.jit(jax.vmap(lambda p: classifier.apply({"params": p}, x_test)))(
            population.params
        )  # [P, N_test, num_classes]
        member_accuracy = np.asarray(jnp.mean(jnp.argmax(logits, -1) == ds.y_test, axis=1))  # [P]
        accuracy = {init: {n: [] for n in config.labels_per_class} for init in INITS}
        for i, init in enumerate(INITS):
            for j, (n, _) in enumerate(pairs):
                accuracy[init][n].append(float(member_accuracy[i * len(pairs) + j]))

        eval_loss = jax.jit(reconstruction)
        summary = {
            "dataset": ds.name,
            "likelihood": likelihood,
            "latent_dim": config.latent_dim,
            "num_members": len(member_accuracy),
            "seeds": config.seeds,
            "labels_per_class": [str(n) for n in config.labels_per_class],
            "pretrain_steps": int(ae_state.step),
            "finetune_steps": int(np.ravel(population.step)[0]),
            "pretrain_seconds": pretrain_seconds,
            "finetune_seconds": finetune_seconds,
            "pretrain_test_reconstruction_loss": float(
                eval_loss(ae_state.params, x_test, eval_key)[0]
            ),
            "pretrain_baseline_reconstruction_loss": float(
                mean_baseline_loss(x_train, x_test, likelihood=likelihood)
            ),
        }
        for init in INITS:
            for n in config.labels_per_class:
                values = np.asarray(accuracy[init][n])
                summary[f"test_accuracy_{init}_{n}_mean"] = float(values.mean())
                summary[f"test_accuracy_{init}_{n}_std"] = float(values.std())
        for n in config.labels_per_class:
            gain = np.asarray(accuracy["pretrained"][n]) - np.asarray(accuracy["random"][n])
            summary[f"test_accuracy_gain_{n}_mean"] = float(gain.mean())
            summary[f"test_accuracy_gain_{n}_std"] = float(gain.std())
            summary[f"pretrained_wins_{n}"] = int((gain > 0).sum())
        per_class = len(ds.y_train) / ds.num_classes
        positions = {n: per_class if n == "all" else n for n in config.labels_per_class}
        plot_label_efficiency(
            accuracy,
            positions,
            wd.file("label_efficiency.png"),
            title=f"{ds.name}: encoder pre-trained as an autoencoder vs random "
            f"({config.seeds} seeds)",
        )
        return wd.write_summary(summary)


if __name__ == "__main__":
    summary = cli(Config, run)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})
