"""Autoencoders on images or tables: undercomplete, overcomplete, stacked, tied, denoising.

    python experiments/autoencoder.py --workdir runs/ae --model denoising --noise gaussian

Trains with the reconstruction loss of the data (Bernoulli cross-entropy for [0, 1] inputs,
½‖x̂ − x‖² with a linear output for real ones), then writes to the workdir:
summary.json (test_reconstruction_loss, baseline_reconstruction_loss = predicting the training
mean, test_denoising_loss = held-out inputs corrupted with --noise compared with the clean
ones), reconstructions.png, loss.png, latent_pca.png, latent_tsne.png and, for the denoising
model, denoising.png.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax import data as gdata
from genjax import viz
from genjax.corruption import make_corruption
from genjax.experiment import BaseConfig, Workdir, cli, train
from genjax.models.autoencoder import PRESETS, make_reconstruction_loss, mean_baseline_loss, preset
from genjax.nn import count_params
from genjax.train import TrainState, make_train_step


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/autoencoder"
    model: Literal[PRESETS] = "stacked"
    """undercomplete | overcomplete | stacked | tied | denoising."""
    hidden: tuple[int, ...] = (256, 128)
    """Hidden sizes of the encoder (the decoder mirrors them); deep models only."""
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


def run(config: Config) -> dict:
    wd = Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep)
    corrupt = make_corruption(config.noise, config.noise_level)
    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    if len(ds.x_train.shape) != 2:
        raise ValueError(
            f"{ds.name}: the MLP autoencoders need [N, D] inputs, got {ds.x_train.shape}"
        )
    likelihood = config.likelihood
    if likelihood == "auto":
        likelihood = "bernoulli" if ds.kind == "binary" else "gaussian"
    x_train, x_test = ds.x_train, ds.x_test
    if x_train.min() < 0 or x_train.max() > 1:  # unbounded real features: standardize
        mean, std = x_train.mean(0), x_train.std(0) + 1e-8
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    model, denoising = preset(
        config.model, ds.input_dim, hidden=config.hidden, latent_dim=config.latent_dim
    )

    key = jax.random.key(config.seed)
    init_key, train_key, eval_key = jax.random.split(key, 3)
    params = model.init(init_key, x_train[:1])["params"]
    tx = optax.adam(config.learning_rate)
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
    noisy_loss = jax.jit(make_reconstruction_loss(model, likelihood=likelihood, corrupt=corrupt))
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
    viz.image_rows(
        [shown, reconstruct(shown)],
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
            [np.asarray(x_noisy[:10]), reconstruct(x_noisy[:10]), shown],
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
