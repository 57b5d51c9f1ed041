"""Likelihood models: maximum-likelihood fits, and generative versus discriminative classifiers.

    python experiments/likelihood.py --workdir runs/likelihood                  # breast_cancer
    python experiments/likelihood.py --workdir runs/pima --dataset pima \\
        --data-path path/to/diabetes.csv

1. Every feature of the training set is fitted by maximum likelihood with a Gamma (where
   its observed values are all positive) and a Gaussian, per class and with both classes
   pooled, in one compiled call per family. metrics.jsonl logs the pooled fits' mean
   log-likelihood over the optimization steps.
2. A generative classifier (class priors, one density per class and feature, Bayes' rule)
   and a discriminative one (L2 logistic regression) are fitted and scored on the test set.
3. Both are shown on two features with their decision boundaries, and refitted on random
   training subsets of growing size, several seeds each, for a learning curve.

Outputs: summary.json (per feature the fitted parameters and mean log-likelihoods, train
and held out; accuracy and log-loss of both classifiers), feature_fits.png, mle_trace.png,
decision_boundary.png and learning_curve.png. A run takes seconds and keeps no
checkpoints: re-running on a workdir recomputes everything and rewrites metrics.jsonl.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from genjax import data
from genjax.data.tabular import observed_mask
from genjax.experiment import Workdir, cli
from genjax.stats import (
    accuracy,
    generative,
    get_family,
    log_loss,
    logistic,
    mean_log_likelihood,
)

CLASS_NAMES = {"breast_cancer": ("malignant", "benign"), "pima": ("no diabetes", "diabetes")}
CLASS_COLORS = ("tab:blue", "tab:orange")
POOLED_PARAMS = {"gamma": ("shape", "rate"), "gaussian": ("mean", "std")}
MODELS = ("generative", "logistic")
PREDICT_PROBA = {
    "generative": jax.jit(generative.predict_proba),
    "logistic": jax.jit(logistic.predict_proba),
}


@dataclasses.dataclass(frozen=True)
class Config:
    workdir: str = "runs/likelihood"
    """Directory for config.json, metrics.jsonl, summary.json and the figures."""
    dataset: str = "breast_cancer"
    """A binary-labelled table: breast_cancer (embedded) or pima (needs --data-path offline)."""
    data_path: str | None = None
    """Pima's diabetes.csv, or the directory holding it."""
    seed: int = 0
    """Seed of the train/test split and of the learning curve's training subsets."""
    steps: int = 300
    """Adam steps of every maximum-likelihood fit (followed by --newton-steps Newton steps)."""
    newton_steps: int = 10
    """Damped Newton steps that finish each maximum-likelihood fit."""
    learning_rate: float = 0.02
    """Adam's learning rate, on log-parameters for positive ones."""
    family: Literal["auto", "gamma", "gaussian"] = "auto"
    """Class-conditional densities: auto = Gamma where a feature's observed training values
    are all positive, Gaussian elsewhere; gamma fails on features with zeros."""
    inverse_regularization: float = 1.0
    """C of the logistic regression, minimizing ½‖w‖² + C Σ logloss (scikit-learn's C)."""
    boundary_features: tuple[str, ...] = ()
    """Two feature names for decision_boundary.png; empty: the most class-separating feature
    and the next most separating one not strongly correlated with it."""
    curve_sizes: tuple[int, ...] = ()
    """Training-set sizes of learning_curve.png; empty: 8 log-spaced sizes from 10 to all."""
    curve_seeds: int = 10
    """Random class-stratified training subsets per learning-curve size."""
    log_every: int = 5
    """Log the maximum-likelihood traces every this many steps to metrics.jsonl."""
    overwrite: bool = False
    """Delete the workdir first."""


# --- data ---------------------------------------------------------------------------------
def load_table(config: Config):
    """The dataset, its feature names, and (x, y, observed) for train and test."""
    ds = data.load(config.dataset, data_path=config.data_path, seed=config.seed)
    if ds.num_classes != 2 or ds.image_shape is not None or ds.y_train is None:
        raise ValueError(f"{config.dataset}: this experiment needs a binary-labelled table")
    names = ds.feature_names or tuple(f"x{f}" for f in range(ds.input_dim))
    train = (ds.x_train, ds.y_train, observed_mask(ds, ds.x_train))
    test = (ds.x_test, ds.y_test, observed_mask(ds, ds.x_test))
    return ds, names, train, test


def choose_families(config: Config, positive: np.ndarray, names) -> tuple[str, ...]:
    """One family per feature for the generative classifier (see `Config.family`)."""
    if config.family == "gaussian":
        return ("gaussian",) * len(names)
    if config.family == "gamma" and not positive.all():
        bad = ", ".join(n for n, p in zip(names, positive, strict=True) if not p)
        raise ValueError(f"--family gamma: these features have observed values <= 0: {bad}")
    return tuple("gamma" if p else "gaussian" for p in positive)


def separation(x: np.ndarray, y: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """|μ₁ − μ₀| / √(½(σ₀² + σ₁²)) per feature over observed values: `[F]`."""
    out = []
    for f in range(x.shape[1]):
        a, b = (x[(y == c) & observed[:, f], f] for c in (0, 1))
        out.append(abs(a.mean() - b.mean()) / np.sqrt(0.5 * (a.var() + b.var()) + 1e-12))
    return np.asarray(out)


def pick_boundary_features(config: Config, names, train) -> tuple[int, int]:
    if config.boundary_features:
        if len(config.boundary_features) != 2:
            raise ValueError("--boundary-features takes exactly two feature names")
        unknown = [n for n in config.boundary_features if n not in names]
        if unknown:
            raise ValueError(f"unknown features {unknown}; choose from {', '.join(names)}")
        return tuple(names.index(n) for n in config.boundary_features)
    x, y, observed = train
    order = np.argsort(-separation(x, y, observed))
    first = int(order[0])
    for f in order[1:]:
        both = observed[:, first] & observed[:, f]
        if abs(np.corrcoef(x[both, first], x[both, f])[0, 1]) < 0.5:
            return first, int(f)
    return first, int(order[1])


def stratified_subsets(y: np.ndarray, sizes, num_seeds: int, seed: int) -> np.ndarray:
    """0/1 weights `[S, R, N]`: per size and seed a random subset with the class shares of
    `y` (at least 2 examples of each class)."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(y == c) for c in (0, 1)]
    positive_share = len(members[1]) / len(y)
    weights = np.zeros((len(sizes), num_seeds, len(y)), np.float32)
    for s, n in enumerate(sizes):
        n_positive = int(np.clip(round(n * positive_share), 2, len(members[1])))
        counts = (min(max(n - n_positive, 2), len(members[0])), n_positive)
        for r in range(num_seeds):
            for c in (0, 1):
                weights[s, r, rng.choice(members[c], counts[c], replace=False)] = 1.0
    return weights


def default_curve_sizes(num_train: int) -> tuple[int, ...]:
    return tuple(int(n) for n in np.unique(np.round(np.geomspace(10, num_train, 8))))


# --- fits ---------------------------------------------------------------------------------
def fit_options(config: Config) -> dict:
    return dict(
        steps=config.steps, learning_rate=config.learning_rate, newton_steps=config.newton_steps
    )


def density_fits(config: Config, x, y, observed) -> dict:
    """Gamma and Gaussian fits of every feature, per class and pooled (`fit_densities`:
    leaves `[C+1, F]`, row C pooled). The Gamma rows of features with zeros are unusable."""
    return {
        family: generative.fit_densities(
            x,
            y,
            family=family,
            num_classes=2,
            mask=observed,
            sample_weight=jnp.ones(len(y)),
            **fit_options(config),
        )
        for family in ("gamma", "gaussian")
    }


def fit_classifiers(config: Config, families, x, y, mask, sample_weight) -> dict:
    """Both classifiers' parameters. Every call passes arrays of the same shapes (feature
    subsets are masks, training subsets 0/1 weights), so each fit compiles once."""
    return {
        "generative": generative.fit(
            x,
            y,
            families=families,
            num_classes=2,
            mask=mask,
            sample_weight=sample_weight,
            **fit_options(config),
        ),
        "logistic": logistic.fit(
            x,
            y,
            inverse_regularization=config.inverse_regularization,
            mask=mask,
            sample_weight=sample_weight,
        ),
    }


def scores(models: dict, x, y, mask) -> dict[str, dict[str, float]]:
    """{model: {"accuracy": ..., "log_loss": ...}} on (x, y), `mask` marking observed."""
    out = {}
    for name, params in models.items():
        proba = PREDICT_PROBA[name](params, x, mask)
        out[name] = {"accuracy": float(accuracy(proba, y)), "log_loss": float(log_loss(proba, y))}
    return out


def learning_curve(config: Config, families, train, test, sizes) -> dict[str, np.ndarray]:
    """Test scores of both classifiers on `curve_seeds` stratified training subsets per
    size: {"<model>_<metric>": [S, R]}."""
    x, y, observed = train
    weights = stratified_subsets(y, sizes, config.curve_seeds, config.seed + 1)  # [S, R, N]
    out = {}
    for s, r in np.ndindex(*weights.shape[:2]):
        models = fit_classifiers(config, families, x, y, observed, jnp.asarray(weights[s, r]))
        for name, metrics in scores(models, *test).items():
            for metric, value in metrics.items():
                out.setdefault(f"{name}_{metric}", np.zeros(weights.shape[:2]))[s, r] = value
    return out


# --- summary ------------------------------------------------------------------------------
def feature_summary(names, fits, positive, models, train, test) -> dict:
    """Per feature: pooled Gamma and Gaussian parameters with their mean log-likelihood on
    the training set and held out (None for a Gamma where the feature has zeros), and the
    generative classifier's family with its per-class parameters and log-likelihood."""
    (x, y, observed), (x_test, _, observed_test) = train, test
    summary = {}
    for family, fit in fits.items():
        pooled = {p: v[-1] for p, v in fit.params.items()}  # [F] each
        held_out = np.asarray(
            mean_log_likelihood(get_family(family).log_density, pooled, x_test, observed_test)
        )
        pooled, train_ll = jax.device_get((pooled, fit.mean_log_likelihood[-1]))
        for f, name in enumerate(names):
            usable = family != "gamma" or positive[f]
            values = {p: pooled[p][f] for p in POOLED_PARAMS[family]}
            values.update(mean_log_likelihood=train_ll[f], test_mean_log_likelihood=held_out[f])
            for key, value in values.items():
                summary[f"feature/{name}/{family}_{key}"] = float(value) if usable else None
    gen = jax.device_get(models["generative"])
    by_class = np.asarray(generative.mean_log_likelihood_by_class(gen, x, y, observed))  # [C, F]
    for f, name in enumerate(names):
        family, class_params = generative.feature_params(gen, f)
        summary[f"feature/{name}/family"] = family
        summary[f"feature/{name}/missing_train"] = int((~observed[:, f]).sum())
        for c in (0, 1):
            for p, v in class_params.items():
                summary[f"feature/{name}/class{c}_{family}_{p}"] = float(v[c])
            summary[f"feature/{name}/class{c}_mean_log_likelihood"] = float(by_class[c, f])
    return summary


def log_traces(workdir: Workdir, fits: dict, names, positive, every: int) -> None:
    """metrics.jsonl: per logged step, the mean log-likelihood of every pooled fit."""
    columns = {"gamma": np.flatnonzero(positive), "gaussian": np.arange(len(names))}
    traces = {family: np.asarray(fit.trace[:, -1]) for family, fit in fits.items()}  # [T, F]
    num_points = traces["gaussian"].shape[0]
    for t in sorted({*range(0, num_points, every), num_points - 1}):
        row = {
            f"{family}/{names[f]}": traces[family][t, f]
            for family, cols in columns.items()
            for f in cols
        }
        workdir.log(t, row)


# --- figures ------------------------------------------------------------------------------
def plot_feature_fits(path, names, families, models, train, class_names) -> None:
    """Per feature, histograms of each class's observed training values and the fitted
    class-conditional densities over them."""
    x, y, observed = train
    gen = models["generative"]
    cols = 4 if len(names) <= 8 else 5
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(3.6 * cols, 2.7 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    # Each feature gets its own grid over its observed range (from just above 0 for a Gamma).
    low = np.array([x[observed[:, f], f].min() for f in range(len(names))])  # [F]
    high = np.array([x[observed[:, f], f].max() for f in range(len(names))])  # [F]
    start = np.where(
        np.asarray(families) == "gamma", np.maximum(low - 0.05 * (high - low), 1e-3 * high), low
    )
    grid = np.linspace(start, high, 300).astype(np.float32)  # [300, F]
    density = np.exp(np.asarray(generative.feature_log_densities(gen, grid)))  # [300, C, F]
    for f, ax in enumerate(axes.flat):
        if f >= len(names):
            ax.axis("off")
            continue
        bins = np.linspace(low[f], high[f], 31)
        for c in (0, 1):
            ax.hist(
                x[(y == c) & observed[:, f], f],
                bins=bins,
                density=True,
                alpha=0.35,
                color=CLASS_COLORS[c],
                label=class_names[c],
            )
            ax.plot(grid[:, f], density[:, c, f], color=CLASS_COLORS[c], lw=1.8)
        missing = int((~observed[:, f]).sum())
        title = f"{names[f]} ({families[f]})" + (f", {missing} missing" if missing else "")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Training histograms per class, fitted class-conditional densities", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_mle_trace(path, gamma_fit, names, positive, class_names, newton_start) -> None:
    """The gap ℓ(final) − ℓ(step) of the Gamma fits on a log scale, pooled on the left and
    per class on the right. Below ~1e-6 the gap is float32 rounding of the mean."""
    trace = np.asarray(gamma_fit.trace)[:, :, positive]  # [T, C+1, Fpos]
    gap = np.clip(trace[-1:] - trace, 1e-6, None)
    gamma_names = [n for n, p in zip(names, positive, strict=True) if p]
    colors = colormaps["viridis"](np.linspace(0, 0.95, len(gamma_names)))
    label_lines = len(gamma_names) <= 10
    fig = Figure(figsize=(12, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    for f, name in enumerate(gamma_names):
        axes[0].semilogy(gap[:, -1, f], color=colors[f], lw=1, label=name if label_lines else None)
        for c, style in ((0, "-"), (1, "--")):
            axes[1].semilogy(gap[:, c, f], color=colors[f], lw=0.8, ls=style)
    for c, style in ((0, "-"), (1, "--")):
        axes[1].plot([], [], "k" + style, lw=0.8, label=class_names[c])
    titles = ("both classes pooled", "per class (the generative classifier's densities)")
    for ax, title in zip(axes, titles, strict=True):
        ax.axvline(newton_start, color="k", ls=":", lw=1)
        ax.text(
            newton_start,
            0.02,
            "Newton ",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            ha="right",
        )
        ax.set_title(f"Gamma fits of {len(gamma_names)} features, {title}", fontsize=10)
        ax.set_xlabel("optimization step (Adam from the method of moments, then Newton)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ℓ(final) − ℓ(step), mean log-likelihood (floor 1e-6)")
    if label_lines:
        axes[0].legend(fontsize=7, loc="upper right")
    axes[1].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_decision_boundary(path, config, pair, names, families, train, test, class_names):
    """Both classifiers on two features: boundaries p(1 | x) = ½ over the training points,
    and contours of each class-conditional density p(x₁, x₂ | c) = p(x₁ | c) p(x₂ | c).

    The other features are masked out as missing: the generative model integrates them
    out, which is exactly the two-feature model (its densities factorize over features),
    and the refitted logistic regression gives them weight 0. Returns the test scores.
    """
    (x, y, observed), (x_test, y_test, observed_test) = train, test
    cols = list(pair)
    selected = np.isin(np.arange(x.shape[1]), cols)  # [F]
    models = fit_classifiers(config, families, x, y, observed & selected, jnp.ones(len(y)))
    test_scores = scores(models, x_test, y_test, observed_test & selected)

    complete = observed[:, cols].all(axis=1)
    points, labels = x[complete][:, cols], y[complete]
    low, high = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    low, high = low - 0.08 * (high - low), high + 0.08 * (high - low)
    for i, f in enumerate(cols):
        if families[f] == "gamma":
            low[i] = max(low[i], 1e-3 * high[i])
    g1, g2 = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    grid = np.zeros((g1.size, x.shape[1]), np.float32)  # [G, F], only `cols` observed
    grid[:, cols[0]], grid[:, cols[1]] = g1.ravel(), g2.ravel()
    grid_mask = np.broadcast_to(selected, grid.shape)

    fig = Figure(figsize=(7.5, 6.8))
    ax = fig.subplots()
    log_density = generative.feature_log_densities(models["generative"], grid, grid_mask)
    log_density = np.asarray(log_density).sum(-1)  # [G, C]
    for c in (0, 1):
        density = np.exp(log_density[:, c]).reshape(g1.shape)
        levels = np.unique(np.quantile(density, [0.80, 0.90, 0.96, 0.99]))
        ax.contour(g1, g2, density, levels=levels, colors=CLASS_COLORS[c], linewidths=0.9)
        ax.scatter(
            *points[labels == c].T,
            s=9,
            alpha=0.5,
            color=CLASS_COLORS[c],
            label=f"{class_names[c]} (train)",
        )
    for name, style in (("generative", "-"), ("logistic", "--")):
        p1 = np.asarray(PREDICT_PROBA[name](models[name], grid, grid_mask))[:, 1]
        ax.contour(
            g1, g2, p1.reshape(g1.shape), levels=[0.5], colors="k", linestyles=style, linewidths=1.8
        )
        acc = test_scores[name]["accuracy"]
        ax.plot([], [], "k" + style, label=f"{name} boundary (test accuracy {acc:.3f})")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel(f"{names[cols[0]]} ({families[cols[0]]})")
    ax.set_ylabel(f"{names[cols[1]]} ({families[cols[1]]})")
    ax.set_title("Two-feature classifiers; thin contours: p(x | class)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return test_scores


def plot_learning_curve(path, curve, sizes, dataset, num_seeds) -> None:
    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    for name, color, label in (
        ("generative", "tab:green", "generative (class-conditional densities)"),
        ("logistic", "tab:purple", "discriminative (logistic regression)"),
    ):
        for ax, metric in zip(axes, ("accuracy", "log_loss"), strict=True):
            values = curve[f"{name}_{metric}"]  # [S, R]
            mean, std = values.mean(axis=1), values.std(axis=1)
            ax.plot(sizes, mean, "o-", color=color, label=label, ms=4)
            ax.fill_between(sizes, mean - std, mean + std, color=color, alpha=0.2)
    for ax, metric in zip(axes, ("test accuracy", "test log-loss"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("training examples")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{dataset}: mean ± std over {num_seeds} stratified training subsets", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- run ----------------------------------------------------------------------------------
def run(config: Config) -> dict:
    workdir = Workdir(config.workdir, config, overwrite=config.overwrite)
    if os.path.exists(workdir.file("metrics.jsonl")):  # no checkpoints: a rerun starts over
        os.remove(workdir.file("metrics.jsonl"))
    ds, names, train, test = load_table(config)
    x, y, observed = train
    class_names = CLASS_NAMES.get(ds.name, ("class 0", "class 1"))
    positive = np.asarray(generative.choose_families(x, observed, prefer="gamma")) == "gamma"
    families = choose_families(config, positive, names)

    # 1. Gamma and Gaussian fits of every feature, per class and pooled, and their traces.
    fits = density_fits(config, x, y, observed)
    log_traces(workdir, fits, names, positive, config.log_every)

    # 2. Both classifiers on all features and the whole training set.
    models = fit_classifiers(config, families, x, y, observed, jnp.ones(len(y)))
    summary = {
        "dataset": ds.name,
        "n_train": len(y),
        "n_test": len(test[1]),
        "n_features": len(names),
        "class_names": list(class_names),
    }
    for part, (xs, ys, ms) in (("train", train), ("test", test)):
        for name, metrics in scores(models, xs, ys, ms).items():
            summary.update({f"{name}/{part}_{m}": v for m, v in metrics.items()})
    summary.update(feature_summary(names, fits, positive, models, train, test))

    # 3. Figures: fits, traces, two-feature boundaries, learning curve.
    plot_feature_fits(workdir.file("feature_fits.png"), names, families, models, train, class_names)
    if positive.any():
        plot_mle_trace(
            workdir.file("mle_trace.png"), fits["gamma"], names, positive, class_names, config.steps
        )
    pair = pick_boundary_features(config, names, train)
    boundary = plot_decision_boundary(
        workdir.file("decision_boundary.png"),
        config,
        pair,
        names,
        families,
        train,
        test,
        class_names,
    )
    summary["boundary/features"] = [names[f] for f in pair]
    for name, metrics in boundary.items():
        summary.update({f"boundary/{name}_test_{m}": v for m, v in metrics.items()})

    sizes = [n for n in (config.curve_sizes or default_curve_sizes(len(y))) if n <= len(y)]
    curve = learning_curve(config, families, train, test, sizes)
    plot_learning_curve(
        workdir.file("learning_curve.png"), curve, sizes, ds.name, config.curve_seeds
    )
    summary["learning_curve/train_size"] = sizes
    for key, values in curve.items():  # [S, R]
        summary[f"learning_curve/{key}_mean"] = values.mean(axis=1)
        summary[f"learning_curve/{key}_std"] = values.std(axis=1)
    return workdir.write_summary(summary)


if __name__ == "__main__":
    cli(Config, run)
