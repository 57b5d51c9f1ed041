"""Variational autoencoders: ELBO training, IWAE likelihood, samples, latent space, β sweep.

    python experiments/vae.py --workdir runs/vae                               # digits
    python experiments/vae.py --workdir runs/vae2d --latent-dim 2              # + manifold.png
    python experiments/vae.py --workdir runs/cvae --conditional                # label-conditioned
    python experiments/vae.py --workdir runs/beta --beta-sweep 0.25,0.5,1,2,4  # one population
    python experiments/vae.py --workdir runs/mnist --dataset mnist --data-dir data/mnist10k \\
        --binarize dynamic --hidden 200 200 --latent-dim 50 --iwae-samples 5000

Trains `genjax.models.vae.VAE` on the β-VAE loss `−log p(x | z) + β KL(q(z | x) ‖ N(0, I))`
with one reparameterized `z` per example, then evaluates the test set: the ELBO, its two
terms, and the importance-weighted bound `L_k` with `k = --iwae-samples` (Burda et al.
2016), whose negation estimates the negative log-likelihood from above, more tightly than
`−ELBO`. All numbers are nats per example.

Decoder (`--decoder auto`): "bernoulli" for data of kind "binary" (MNIST, Fashion-MNIST:
grey levels in [0, 1] read as pixel probabilities) or with `--binarize static|dynamic`,
"gaussian" (mean and floored variance per pixel) for data of kind "real", such as the
embedded digits, whose 17 grey levels are intensities. A Bernoulli decoder on the digits is
allowed (`--decoder bernoulli`): its "likelihood" is then the cross-entropy, whose floor is
the grey levels' own entropy. `--binarize static` draws binary images once (x ~ Bernoulli(x),
fixed seed); `dynamic` draws fresh ones for every training step inside the loss, and
binarizes the test set once with a fixed seed, as in Burda et al.

`--beta-sweep b1,b2,...` trains one VAE per β in a single compiled program (a vmapped
population, β in `TrainState.hparams`; all members start from the same initialization and
see the same minibatches and noise, so they differ in β alone). Its summary holds lists
aligned with `beta`, and rate_distortion.png plots rate (KL) against distortion.

Outputs: summary.json (test_elbo, test_reconstruction, test_kl, test_nll_iwae,
iwae_samples, first_logged_neg_elbo; sample_label_accuracy for a conditional model: a
logistic regression trained on the real training images classifies samples drawn per
requested label), samples.png, reconstructions.png, interpolation.png, latent_scatter.png,
loss.png, manifold.png with `--latent-dim 2`, rate_distortion.png with `--beta-sweep`.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from genjax import data as gdata
from genjax import viz
from genjax.experiment import BaseConfig, Workdir, cli, optimizer, train
from genjax.models.vae import (
    VAE,
    binarize,
    decode_mean,
    encode_mean,
    evaluate,
    make_vae_loss,
    sample_prior,
)
from genjax.nn import count_params
from genjax.train import TrainState, init_population, make_train_step, member


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/vae"
    decoder: Literal["auto", "bernoulli", "gaussian"] = "auto"
    """Decoder likelihood; auto: bernoulli for binary data or --binarize, else gaussian."""
    latent_dim: int = 8
    """Size of z; 2 also draws manifold.png."""
    hidden: tuple[int, ...] = (256, 128)
    """MLP encoder widths (the decoder mirrors them); conv: hidden[-1] is its dense width."""
    arch: Literal["mlp", "conv"] = "mlp"
    """Encoder/decoder networks: fully connected, or convolutional (images only)."""
    conv_features: tuple[int, ...] = (32, 64)
    """Channels of the conv encoder's stride-2 stages (the decoder reverses them)."""
    beta: float = 1.0
    """Weight of the KL term (β-VAE); 1 is the ELBO."""
    beta_sweep: str | None = None
    """Comma-separated β values, e.g. 0.5,1,4: one VAE per β, trained as one population."""
    conditional: bool = False
    """Condition encoder and decoder on the class label (conditional VAE)."""
    binarize: Literal["none", "static", "dynamic"] = "none"
    """Binarize [0, 1] data: once (static) or afresh every training step (dynamic)."""
    iwae_samples: int = 1000
    """k of the importance-weighted bound used for test_nll_iwae."""
    iwae_chunk: int = 500
    """IWAE samples evaluated at once per example (memory bound; does not change results)."""
    min_stddev: float = 0.05
    """Lower bound on the Gaussian decoder's standard deviation (data units)."""
    embed_examples: int = 1000
    """Test examples shown in latent_scatter.png."""

    def __post_init__(self):
        super().__post_init__()
        if self.latent_dim < 1:
            raise ValueError(f"--latent-dim must be >= 1, got {self.latent_dim}")
        if self.beta < 0:
            raise ValueError(f"--beta must be >= 0, got {self.beta}")
        if self.iwae_samples < 1 or self.iwae_chunk < 1:
            raise ValueError(
                f"--iwae-samples and --iwae-chunk must be >= 1, got "
                f"{self.iwae_samples}, {self.iwae_chunk}"
            )
        if min(self.hidden, default=1) < 1 or min(self.conv_features, default=1) < 1:
            raise ValueError(
                f"--hidden and --conv-features sizes must be >= 1, got {self.hidden}, "
                f"{self.conv_features}"
            )
        if not 0 < self.min_stddev < 1:
            raise ValueError(f"--min-stddev must lie in (0, 1), got {self.min_stddev}")
        if self.binarize != "none" and self.decoder == "gaussian":
            raise ValueError("--binarize makes binary data: use --decoder bernoulli (or auto)")
        if self.beta_sweep is not None:
            betas = self.betas()
            if self.beta != 1.0:
                raise ValueError("give either --beta or --beta-sweep, not both")
            if len(betas) < 2 or min(betas) < 0:
                raise ValueError(f"--beta-sweep needs >= 2 values >= 0, got {self.beta_sweep}")

    def betas(self) -> tuple[float, ...]:
        """The β of each population member (one for a single run)."""
        if self.beta_sweep is None:
            return (self.beta,)
        try:
            return tuple(float(b) for b in self.beta_sweep.split(","))
        except ValueError:
            raise ValueError(
                f"--beta-sweep must be comma-separated numbers, got {self.beta_sweep!r}"
            ) from None


def prepare_data(config: Config, ds: gdata.Dataset, key: jax.Array):
    """`(likelihood, x_train, x_test)` after binarization or standardization."""
    likelihood = config.decoder
    if likelihood == "auto":
        binary = ds.kind == "binary" or config.binarize != "none"
        likelihood = "bernoulli" if binary else "gaussian"
    x_train, x_test = ds.x_train, ds.x_test
    in_unit_interval = x_train.min() >= 0 and x_train.max() <= 1
    if likelihood == "bernoulli" and not in_unit_interval:
        raise ValueError(
            f"{ds.name}: the bernoulli decoder needs data in [0, 1], got "
            f"[{x_train.min():.3g}, {x_train.max():.3g}]; use --decoder gaussian"
        )
    if not in_unit_interval:  # unbounded real features
        x_train, x_test = gdata.standardize(x_train, x_test)
    train_key, test_key = jax.random.split(key)
    if config.binarize == "static":
        x_train = np.asarray(binarize(train_key, jnp.asarray(x_train)))
    if config.binarize != "none":  # the test set is binarized once in both modes
        x_test = np.asarray(binarize(test_key, jnp.asarray(x_test)))
    return likelihood, x_train, x_test


def build_model(config: Config, ds: gdata.Dataset, likelihood: str) -> VAE:
    return VAE(
        input_dim=ds.input_dim,
        latent_dim=config.latent_dim,
        hidden=tuple(config.hidden),
        likelihood=likelihood,
        arch=config.arch,
        image_shape=ds.image_shape,
        conv_features=tuple(config.conv_features),
        num_classes=ds.num_classes if config.conditional else 0,
        min_stddev=config.min_stddev,
    )


@functools.lru_cache(maxsize=16)
def training_setup(
    model: VAE, dynamic_binarization: bool, learning_rate: float, skip_nonfinite: bool
):
    """`(init, step, tx)`: jitted `init(key, x, y) -> params`, and the step of Adam
    (skipping non-finite updates if asked) on the β-VAE loss.

    Memoized, so that a second run in one process (a resumed run, a notebook, the tests)
    reuses the compiled programs: `fit` caches its compiled loop by step function.
    """
    tx = optimizer(BaseConfig(learning_rate=learning_rate, skip_nonfinite=skip_nonfinite))
    loss_fn = make_vae_loss(model, dynamic_binarization=dynamic_binarization)

    @jax.jit
    def init(key, x, y):
        return model.init(key, x, key, y)["params"]

    return init, make_train_step(loss_fn, tx), tx


def run(config: Config) -> dict:
    # everything that can refuse the config runs before the workdir is touched
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    if ds.x_train.ndim != 2:
        raise ValueError(f"{ds.name}: the VAE needs [N, D] inputs, got {ds.x_train.shape}")
    if config.conditional and (ds.y_train is None or ds.num_classes is None):
        raise ValueError(f"{ds.name}: --conditional needs class labels, and it has none")
    if config.arch == "conv" and ds.image_shape is None:
        raise ValueError(f"{ds.name}: --arch conv needs images, and it is a table")
    key = jax.random.key(config.seed)
    data_key, init_key, train_key, eval_key = jax.random.split(key, 4)
    likelihood, x_train, x_test = prepare_data(config, ds, data_key)
    model = build_model(config, ds, likelihood)
    wd = Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep)
    labels = ds.y_train if config.conditional else None
    train_data = jnp.asarray(x_train) if labels is None else (jnp.asarray(x_train), labels)
    test_labels = ds.y_test if config.conditional else None
    test_batch = x_test if test_labels is None else (x_test, test_labels)

    init, step, tx = training_setup(
        model, config.binarize == "dynamic", config.learning_rate, config.skip_nonfinite
    )

    def init_params(k):
        return init(k, jnp.asarray(x_train[:1]), None if labels is None else labels[:1])

    betas = config.betas()
    population = config.beta_sweep is not None
    if population:  # same initialization, batches and noise for every member: only β differs
        size = len(betas)
        state = init_population(init_params, tx, jnp.stack([init_key] * size), beta=betas)
        run_key = jnp.stack([train_key] * size)
    else:
        state = TrainState.create(init_params(init_key), tx, beta=config.beta)
        run_key = train_key
    start = time.perf_counter()
    state = train(
        wd,
        config,
        step,
        state,
        train_data,
        run_key,
        population=population,
    )
    train_seconds = time.perf_counter() - start

    members = [member(state.params, i) for i in range(len(betas))] if population else [state.params]
    start = time.perf_counter()
    results = [
        evaluate(
            model,
            params,
            test_batch,
            eval_key,
            iwae_samples=config.iwae_samples,
            sample_chunk=config.iwae_chunk,
        )
        for params in members
    ]
    eval_seconds = time.perf_counter() - start
    metrics = wd.read_metrics()
    first_neg_elbo = -np.asarray(metrics[0]["elbo"])  # [P] or scalar

    def per_member(values):
        values = [float(v) for v in values]
        return values if population else values[0]

    summary = {
        "dataset": ds.name,
        "decoder": likelihood,
        "binarize": config.binarize,
        "arch": config.arch,
        "conditional": config.conditional,
        "latent_dim": config.latent_dim,
        "beta": per_member(betas),
        "num_params": count_params(members[0]),
        "steps": int(np.ravel(state.step)[0]),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "test_examples": len(x_test),
        "iwae_samples": config.iwae_samples,
        "first_logged_step": metrics[0]["step"],
        "first_logged_neg_elbo": per_member(np.ravel(first_neg_elbo)),
        "test_elbo": per_member(r["elbo"].mean() for r in results),
        "test_reconstruction": per_member(r["reconstruction"].mean() for r in results),
        "test_kl": per_member(r["kl"].mean() for r in results),
        "test_nll_iwae": per_member(-r["iwae"].mean() for r in results),
    }
    if config.conditional:
        summary["sample_label_accuracy"] = per_member(
            sample_label_accuracy(model, p, ds, jax.random.fold_in(eval_key, 1)) for p in members
        )

    titles = [f"β = {b:g}" for b in betas]
    draw_figures(wd, config, model, members, titles, ds, x_test, eval_key)
    viz.training_curves(
        metrics,
        ["loss", "reconstruction", "kl"] if not population else ["loss"],
        wd.file("loss.png"),
        title=f"training loss ({likelihood} decoder" + (", one line per β)" if population else ")"),
    )
    if population:
        rate_distortion_figure(summary, wd.file("rate_distortion.png"))
    return wd.write_summary(summary)


def sample_label_accuracy(model: VAE, params, ds: gdata.Dataset, key: jax.Array) -> float:
    """Accuracy of a logistic regression, trained on the real training images, on decoded
    prior samples drawn for each requested label (chance is 1 / num_classes)."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(max_iter=1000).fit(ds.x_train, ds.y_train)
    requested = jnp.repeat(jnp.arange(ds.num_classes), 50)  # [50·K]
    samples = sample_prior(model, params, key, len(requested), requested)
    return float(classifier.score(np.asarray(samples), np.asarray(requested)))


def draw_figures(wd, config, model, members, titles, ds, x_test, key) -> None:
    """samples, reconstructions, interpolation, latent_scatter (and manifold for d = 2)."""
    shape = ds.image_shape
    single = len(members) == 1
    y_test = ds.y_test if config.conditional else None
    sample_key = jax.random.fold_in(key, 2)

    # samples: an 8×10 grid (conditional: one row per class), or one row per β
    if single:
        if config.conditional:
            requested = jnp.repeat(jnp.arange(ds.num_classes), 10)
            title = "samples of p(x | z, y), z ~ N(0, I), one row per label y"
        else:
            requested, title = None, "decoded prior samples z ~ N(0, I)"
        num = 80 if requested is None else len(requested)
        grid = np.asarray(sample_prior(model, members[0], sample_key, num, requested))
        if shape is None:
            viz.image_grid(grid, wd.file("samples.png"), image_shape=None, title=title)
        else:
            tiles_figure([tile(grid, shape, columns=10)], [""], wd.file("samples.png"), title=title)
    else:
        requested = None if y_test is None else jnp.arange(10) % ds.num_classes
        rows = [np.asarray(sample_prior(model, p, sample_key, 10, requested)) for p in members]
        viz.image_rows(
            rows,
            titles,
            wd.file("samples.png"),
            image_shape=shape,
            title="decoded prior samples (same z in every row)",
        )

    def encode(params, x, y):
        return encode_mean(model, params, jnp.asarray(x), None if y is None else jnp.asarray(y))

    shown = x_test[:10]
    shown_y = None if y_test is None else y_test[:10]
    rows = [shown] + [
        np.asarray(decode_mean(model, p, encode(p, shown, shown_y), shown_y)) for p in members
    ]
    viz.image_rows(
        rows,
        ["input"] + (["reconstruction"] if single else titles),
        wd.file("reconstructions.png"),
        image_shape=shape,
        title="test inputs and decoder means at the posterior mean",
    )

    # interpolation: straight lines between the posterior means of test pairs
    steps = np.linspace(0.0, 1.0, 8)[:, None]  # [8, 1]
    pairs = interpolation_pairs(ds.y_test, 4 if single else 1)
    pairs = pairs if single else pairs * len(members)
    rows, names = [], []
    for row, (a, b) in enumerate(pairs):
        params = members[0] if single else members[row]
        ends = x_test[[a, b]]
        end_y = None if y_test is None else y_test[[a, b]]
        z = np.asarray(encode(params, ends, end_y))
        path = (1 - steps) * z[0] + steps * z[1]  # [8, d]
        path_y = None if end_y is None else jnp.full((len(path),), end_y[0])
        rows.append(
            np.concatenate(
                [ends[:1], np.asarray(decode_mean(model, params, path, path_y)), ends[1:]]
            )
        )
        names.append(f"{a} → {b}" if single else titles[row])
    viz.image_rows(
        rows,
        names,
        wd.file("interpolation.png"),
        image_shape=shape,
        title="decoded straight paths between posterior means (ends: the inputs)",
    )

    # latent scatter of the test set's posterior means (PCA when d > 2)
    n = min(config.embed_examples, len(x_test))
    labels = None if ds.y_test is None else ds.y_test[:n]
    points = []
    for params in members:
        codes = np.asarray(encode(params, x_test[:n], None if y_test is None else y_test[:n]))
        points.append(codes if codes.shape[1] == 2 else viz.embed_2d(codes, "pca"))
    axis = ("z₁", "z₂") if config.latent_dim == 2 else ("PC 1", "PC 2")
    if single:
        viz.latent_scatter(
            points[0],
            labels,
            wd.file("latent_scatter.png"),
            title=f"posterior means of the test set ({config.latent_dim}-d"
            + (", PCA)" if config.latent_dim > 2 else ")"),
            axis_labels=axis,
        )
    else:
        scatter_panels(points, labels, titles, wd.file("latent_scatter.png"), axis)

    if config.latent_dim == 2 and shape is not None:
        manifold_y = None if y_test is None else 0
        panels = [manifold(model, p, shape, label=manifold_y) for p in members]
        tiles_figure(
            panels,
            titles if not single else [""],
            wd.file("manifold.png"),
            title="decoded grid z = (Φ⁻¹(u₁), Φ⁻¹(u₂)), u on a grid in (0, 1)²"
            + ("; label 0" if manifold_y is not None else ""),
        )


def interpolation_pairs(labels: np.ndarray | None, num: int) -> list[tuple[int, int]]:
    """Test indices `(a, b)`: the first examples of classes 2i and 2i + 1 when labelled."""
    if labels is None or len(np.unique(labels)) < 2 * num:
        return [(2 * i, 2 * i + 1) for i in range(num)]
    first = {c: int(np.argmax(labels == c)) for c in np.unique(labels)}
    classes = sorted(first)
    return [(first[classes[2 * i]], first[classes[2 * i + 1]]) for i in range(num)]


def manifold(model, params, image_shape, *, size: int = 15, label: int | None = None):
    """The decoder means on a `size × size` grid of latents at Gaussian quantiles, tiled
    into one image."""
    quantiles = norm.ppf(np.linspace(0.03, 0.97, size))  # [size]
    z1, z2 = np.meshgrid(quantiles, quantiles[::-1])  # rows: z₂ from high to low
    z = jnp.asarray(np.stack([z1.ravel(), z2.ravel()], axis=1), jnp.float32)  # [size², 2]
    y = None if label is None else jnp.full((len(z),), label)
    return tile(np.asarray(decode_mean(model, params, z, y)), image_shape, columns=size)


def tile(images: np.ndarray, image_shape, *, columns: int) -> np.ndarray:
    """`images [N, H·W·C]` laid out `columns` to a row with a 1-pixel gap, as one
    `[rows·(H+1), columns·(W+1)]` image (`[..., C]` for colour); a single imshow is much
    cheaper to draw than one Axes per image."""
    height, width, channels = image_shape
    rows = -(-len(images) // columns)
    canvas = np.full((rows * (height + 1), columns * (width + 1), channels), 0.35)  # grey gaps
    for i, image in enumerate(np.asarray(images).reshape(-1, height, width, channels)):
        r, c = divmod(i, columns)
        canvas[
            r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width
        ] = image
    return canvas[..., 0] if channels == 1 else canvas


def tiles_figure(panels, titles, path, *, title, size: float = 6.0):
    """Tiled images side by side, one panel per model."""
    aspect = panels[0].shape[0] / panels[0].shape[1]
    fig = Figure(figsize=(size * len(panels), size * aspect + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel, name in zip(axes, panels, titles, strict=True):
        ax.imshow(np.clip(panel, 0, 1), cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def scatter_panels(points, labels, titles, path, axis_labels):
    """One latent scatter per model, side by side, coloured by label."""
    fig = Figure(figsize=(4 * len(points), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(points)))
    for ax, p, name in zip(axes, points, titles, strict=True):
        ax.scatter(p[:, 0], p[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8)
        ax.set_title(name)
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
    fig.suptitle("posterior means of the test set")
    fig.savefig(path, dpi=100, bbox_inches="tight")


def rate_distortion_figure(summary: dict, path: str) -> None:
    """Rate (KL) against distortion (reconstruction) per β, and the bounds against β."""
    betas = np.asarray(summary["beta"])
    rate, distortion = np.asarray(summary["test_kl"]), np.asarray(summary["test_reconstruction"])
    fig = Figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    left.plot(rate, distortion, "o-")
    for b, r, d in zip(betas, rate, distortion, strict=True):
        left.annotate(f"β={b:g}", (r, d), textcoords="offset points", xytext=(5, 5))
    left.set_xlabel("rate: KL(q(z|x) ‖ p(z)) [nats]")
    left.set_ylabel("distortion: E_q[−log p(x|z)] [nats]")
    left.set_title("rate–distortion on the test set")
    left.grid(alpha=0.3)
    right.plot(betas, -np.asarray(summary["test_elbo"]), "o-", label="−ELBO")
    right.plot(
        betas,
        summary["test_nll_iwae"],
        "s-",
        label=f"NLL (IWAE, k={summary['iwae_samples']})",
    )
    if betas.min() > 0:
        right.set_xscale("log")
    right.set_xticks(betas, [f"{b:g}" for b in betas])
    right.minorticks_off()
    right.set_xlabel("β")
    right.set_ylabel("nats per example")
    right.set_title("test bounds")
    right.legend()
    right.grid(alpha=0.3)
    fig.savefig(path, dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    summary = cli(Config, run)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})
