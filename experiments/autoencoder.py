"""Autoencoders on images, tables or sequences: undercomplete, overcomplete, stacked, tied,
denoising (MLPs), conv (strided convolutions / transposed convolutions, images only) and
recurrent (sequence-to-vector-to-sequence; images are read row by row).

    python experiments/autoencoder.py --workdir runs/ae --model denoising --noise gaussian
    python experiments/autoencoder.py --workdir runs/conv --model conv
    python experiments/autoencoder.py --workdir runs/rae --model recurrent --dataset sines

Trains with the reconstruction loss of the data (Bernoulli cross-entropy for [0, 1] inputs,
½‖x̂ − x‖² with a linear output for real ones), then writes to the workdir:
summary.json (test_reconstruction_loss, baseline_reconstruction_loss = predicting the training
mean, test_denoising_loss = held-out inputs corrupted with --noise compared with the clean
ones), reconstructions.png, loss.png, latent_pca.png, latent_tsne.png and, for the denoising
model, denoising.png. For sequences, reconstructions.png plots input and reconstructed
series.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from genjax import data as gdata
from genjax import viz
from genjax.corruption import make_corruption
from genjax.data.sequences import as_row_sequences
from genjax.experiment import BaseConfig, Workdir, cli, optimizer, train
from genjax.models.autoencoder import (
    PRESETS,
    ConvAutoencoder,
    RecurrentAutoencoder,
    default_latent_dim,
    make_reconstruction_loss,
    mean_baseline_loss,
    preset,
    reconstruction_inputs,
)
from genjax.nn import count_params
from genjax.train import TrainState, make_train_step

MODELS = (*PRESETS, "conv", "recurrent")


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/autoencoder"
    model: Literal[MODELS] = "stacked"
    """undercomplete | overcomplete | stacked | tied | denoising | conv | recurrent."""
    hidden: tuple[int, ...] = (256, 128)
    """Hidden sizes of the encoder (the decoder mirrors them); deep MLP models only."""
    channels: tuple[int, ...] = (32, 64)
    """conv: channels of the encoder's stride-2 stages (the decoder mirrors them)."""
    cell: Literal["gru", "lstm"] = "gru"
    """recurrent: the recurrent cell."""
    recurrent_hidden: tuple[int, ...] = (64,)
    """recurrent: sizes of the recurrent layers below the code (the decoder mirrors them)."""
    latent_dim: int | None = None
    """Code size; default: min(32, D/4), or 2·D for overcomplete."""
    noise: Literal["gaussian", "dropout"] = "gaussian"
    """Corruption of the denoising model's training inputs and of the denoising test."""
    noise_level: float = 0.3
    """Standard deviation of the Gaussian noise, or the dropout rate."""
    likelihood: Literal["auto", "bernoulli", "gaussian"] = "auto"
    """Decoder likelihood; auto: bernoulli for [0, 1] data, gaussian otherwise."""
    embed_examples: int = 1000
    """Test examples shown in the PCA and t-SNE pictures of the codes."""


def make_model(config: Config, ds: gdata.Dataset):
    """The model `config.model` for `ds`'s input shape; returns `(model, denoising)`."""
    shape = ds.x_train.shape[1:]
    latent_dim = config.latent_dim
    if config.model == "conv":
        if ds.image_shape is None:
            raise ValueError(f"{ds.name}: the conv autoencoder needs images, got shape {shape}")
        if not config.channels or min(config.channels) < 1:
            raise ValueError(f"--channels must be one or more sizes >= 1, got {config.channels}")
        if latent_dim is None:
            latent_dim = default_latent_dim(ds.input_dim)
        return ConvAutoencoder(ds.image_shape, config.channels, latent_dim), False
    if config.model == "recurrent":
        if len(shape) != 2:
            raise ValueError(f"{ds.name}: the recurrent autoencoder needs [N, T, F], got {shape}")
        if any(size < 1 for size in config.recurrent_hidden):
            raise ValueError(
                f"--recurrent-hidden sizes must be >= 1, got {config.recurrent_hidden}"
            )
        if latent_dim is None:
            latent_dim = default_latent_dim(ds.input_dim)
        model = RecurrentAutoencoder(*shape, config.recurrent_hidden, latent_dim, config.cell)
        return model, False
    if len(shape) != 1:
        raise ValueError(f"{ds.name}: the MLP autoencoders need [N, D] inputs, got {shape}")
    return preset(config.model, ds.input_dim, hidden=config.hidden, latent_dim=latent_dim)


def series_rows(
    rows: list[np.ndarray], row_titles: list[str], path: str, *, title: str, columns: int = 5
) -> str:
    """Panels of series `[N, T, F]`: panel `n` overlays example `n` of every row of `rows`
    (feature 0; e.g. input and reconstruction)."""
    from matplotlib.figure import Figure

    n = len(rows[0])
    fig = Figure(figsize=(2.6 * columns, 1.8 * -(-n // columns) + 0.5))
    axes = fig.subplots(-(-n // columns), columns, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i >= n:
            ax.axis("off")
            continue
        for series, name, style in zip(rows, row_titles, ("k-", "r--", "b:"), strict=False):
            ax.plot(series[i][:, 0], style, lw=1.2, label=name)
        ax.set_xticks([])
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def run(config: Config) -> dict:
    corrupt = make_corruption(config.noise, config.noise_level)
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    if config.model == "recurrent" and ds.image_shape is not None:
        ds = as_row_sequences(ds)  # [N, H, W·C]: one step per image row
    likelihood, x_train, x_test = reconstruction_inputs(ds, config.likelihood)
    model, denoising = make_model(config, ds)
    # every check above runs before the workdir is touched
    with Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep) as wd:
        key = jax.random.key(config.seed)
        init_key, train_key, eval_key = jax.random.split(key, 3)
        params = model.init(init_key, x_train[:1])["params"]
        tx = optimizer(config)  # Adam; skips non-finite updates with --skip-nonfinite
        loss_fn = make_reconstruction_loss(
            model, likelihood=likelihood, corrupt=corrupt if denoising else None
        )
        start = time.perf_counter()
        state = train(
            wd,
            config,
            make_train_step(loss_fn, tx),
            TrainState.create(params, tx),
            jnp.asarray(x_train),
            train_key,
        )
        train_seconds = time.perf_counter() - start

        clean_loss = jax.jit(make_reconstruction_loss(model, likelihood=likelihood))
        noisy_loss = jax.jit(
            make_reconstruction_loss(model, likelihood=likelihood, corrupt=corrupt)
        )
        x_noisy = corrupt(eval_key, jnp.asarray(x_test))
        summary = {
            "model": config.model,
            "dataset": ds.name,
            "likelihood": likelihood,
            "latent_dim": model.latent_dim,
            "num_params": count_params(state.params),
            "steps": int(state.step),
            "train_seconds": train_seconds,
            "train_reconstruction_loss": float(clean_loss(state.params, x_train, eval_key)[0]),
            "test_reconstruction_loss": float(clean_loss(state.params, x_test, eval_key)[0]),
            "test_denoising_loss": float(noisy_loss(state.params, x_test, eval_key)[0]),
            "baseline_reconstruction_loss": float(
                mean_baseline_loss(x_train, x_test, likelihood=likelihood)
            ),
        }
        summary["loss_vs_baseline"] = (
            summary["test_reconstruction_loss"] / summary["baseline_reconstruction_loss"]
        )

        def reconstruct(x):
            out = np.asarray(model.apply({"params": state.params}, x))
            return 1 / (1 + np.exp(-out)) if likelihood == "bernoulli" else out

        shown = x_test[:10]
        if ds.x_train.ndim == 3 and ds.image_shape is None:  # true sequences: plot the series
            series_rows(
                [shown, reconstruct(shown)],
                ["input", "reconstruction"],
                wd.file("reconstructions.png"),
                title=f"{config.model} autoencoder, test set ({ds.name})",
            )
        else:  # images (also images read row by row) and tables
            viz.image_rows(
                [shown.reshape(len(shown), -1), reconstruct(shown).reshape(len(shown), -1)],
                ["input", "reconstruction"],
                wd.file("reconstructions.png"),
                image_shape=ds.image_shape,
                title=f"{config.model} autoencoder, test set",
            )
        viz.training_curves(
            wd.read_metrics(),
            ["loss"],
            wd.file("loss.png"),
            title=f"training loss ({likelihood})",
            log_scale=True,
        )
        if denoising:
            viz.image_rows(
                [np.asarray(x_noisy[:10]), reconstruct(x_noisy[:10]), shown],  # MLPs only: [N, D]
                ["noisy", "reconstructed", "clean"],
                wd.file("denoising.png"),
                image_shape=ds.image_shape,
                title=f"denoising ({config.noise}, level {config.noise_level})",
            )
        n = min(config.embed_examples, len(x_test))
        codes = np.asarray(model.apply({"params": state.params}, x_test[:n], method="encode"))
        labels = None if ds.y_test is None else ds.y_test[:n]
        for method in ("pca", "tsne"):
            viz.latent_scatter(
                viz.embed_2d(codes, method, seed=config.seed),
                labels,
                wd.file(f"latent_{method}.png"),
                title=f"{method.upper()} of {model.latent_dim}-d codes ({ds.name})",
            )
        return wd.write_summary(summary)


if __name__ == "__main__":
    summary = cli(Config, run)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})
