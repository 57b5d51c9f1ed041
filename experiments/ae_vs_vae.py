"""Autoencoder versus VAE: what each decoder makes of random latents and of interpolations.

    python experiments/ae_vs_vae.py --workdir runs/ae_vs_vae

An autoencoder compresses its inputs, but nothing shapes the region of code space its
codes occupy: decoding a random latent `z ~ N(0, I)` gives garbage. A VAE's encoder
outputs a mean and a variance, `z = μ + σ ε`, and the KL term pulls `q(z | x)` towards
`N(0, I)`, so a random latent decodes to a plausible input and straight paths between
codes stay among plausible inputs.

Both models share the architecture (the MLP `D → hidden → d → reversed(hidden) → D`, the
VAE with a second `d`-wide head for the log-variance), the latent size, the Bernoulli
decoder (cross-entropy on [0, 1] inputs), and the training run: they are trained together
in one compiled program on the same minibatches (their parameters are disjoint, so the
summed loss trains each exactly as alone).

Measured on decoder means (summary.json):
- `*_random_nearest_distance`: mean Euclidean distance from a decoded `z ~ N(0, I)` to its
  nearest training image; `test_nearest_distance` is the same for real held-out images,
  the scale of "looks like data".
- `*_random_confidence`: mean top-class probability a logistic regression, trained on the
  real training images, gives decoded random latents (`test_confidence`: on test images).
- `*_midpoint_nearest_distance`: the nearest-training-image distance of the decoded
  midpoints of straight paths between the codes of two test images of different classes.
- `*_code_rms`: root mean square of the training codes (AE) or posterior means (VAE);
  `N(0, I)` draws have 1.
- `ae_test_reconstruction`, `vae_test_reconstruction`: cross-entropy at the code / at the
  posterior mean (nats); `vae_test_kl`, `vae_test_elbo`.
ae_vs_vae.png shows both decoders on the same random latents and on the same test pairs.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from genjax import data as gdata
from genjax import viz
from genjax.experiment import BaseConfig, Workdir, cli, optimizer, train
from genjax.losses.reconstruction import bernoulli_nll
from genjax.models.autoencoder import Autoencoder, make_reconstruction_loss
from genjax.models.vae import VAE, decode_mean, evaluate, make_vae_loss
from genjax.nn import count_params
from genjax.train import TrainState, make_train_step


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    workdir: str = "runs/ae_vs_vae"
    hidden: tuple[int, ...] = (256, 128)
    """Encoder widths of both models (their decoders mirror them)."""
    latent_dim: int = 8
    """Code size of both models."""
    random_latents: int = 500
    """z ~ N(0, I) draws decoded by each model for the numbers."""
    pairs: int = 100
    """Test pairs of different classes whose interpolation midpoints are scored."""

    def __post_init__(self):
        super().__post_init__()
        if min(self.hidden, default=1) < 1:
            raise ValueError(f"--hidden sizes must be >= 1, got {self.hidden}")
        if self.latent_dim < 1 or self.random_latents < 1 or self.pairs < 1:
            raise ValueError(
                "--latent-dim, --random-latents and --pairs must be >= 1, got "
                f"{self.latent_dim}, {self.random_latents}, {self.pairs}"
            )


def make_joint_loss(ae: Autoencoder, vae: VAE):
    """`loss_fn(params, x, key)` for `params = {"ae": ..., "vae": ...}`: the sum of the
    autoencoder's cross-entropy and the VAE's negative ELBO, with both terms as metrics."""
    ae_loss = make_reconstruction_loss(ae, likelihood="bernoulli")
    vae_loss = make_vae_loss(vae)

    def loss_fn(params, x, key):
        ae_value, _ = ae_loss(params["ae"], x, key)
        vae_value, vae_metrics = vae_loss(params["vae"], x, key)
        metrics = {"ae_reconstruction": ae_value}
        metrics.update({f"vae_{name}": value for name, value in vae_metrics.items()})
        return ae_value + vae_value, metrics

    return loss_fn


def nearest_distance(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`[N]`: Euclidean distance from each of `images [N, D]` to its nearest row of
    `reference [M, D]`."""
    from sklearn.metrics import pairwise_distances_argmin_min

    return pairwise_distances_argmin_min(images, reference)[1]


def run(config: Config) -> dict:
    from sklearn.linear_model import LogisticRegression

    ds = gdata.load(config.dataset, data_dir=config.data_dir, seed=config.seed)
    x_train, x_test = ds.x_train, ds.x_test
    if x_train.ndim != 2 or x_train.min() < 0 or x_train.max() > 1:
        raise ValueError(f"{ds.name}: the Bernoulli decoders need [N, D] data in [0, 1]")
    if ds.y_train is None:
        raise ValueError(f"{ds.name}: the classifier-confidence score needs class labels")
    wd = Workdir(config.workdir, config, overwrite=config.overwrite, keep=config.keep)
    ae = Autoencoder(ds.input_dim, tuple(config.hidden), config.latent_dim)
    vae = VAE(ds.input_dim, config.latent_dim, tuple(config.hidden), "bernoulli")
    key = jax.random.key(config.seed)
    ae_key, vae_key, train_key, eval_key = jax.random.split(key, 4)
    x0 = jnp.asarray(x_train[:1])
    params = {
        "ae": ae.init(ae_key, x0)["params"],
        "vae": vae.init(vae_key, x0, vae_key)["params"],
    }
    tx = optimizer(config)  # Adam; skips non-finite updates with --skip-nonfinite
    start = time.perf_counter()
    state = train(
        wd,
        config,
        make_train_step(make_joint_loss(ae, vae), tx),
        TrainState.create(params, tx),
        jnp.asarray(x_train),
        train_key,
    )
    train_seconds = time.perf_counter() - start
    ae_params, vae_params = state.params["ae"], state.params["vae"]

    def ae_encode(x):
        return ae.apply({"params": ae_params}, jnp.asarray(x), method="encode")

    def ae_decode(z):
        return jax.nn.sigmoid(ae.apply({"params": ae_params}, jnp.asarray(z), method="decode"))

    def vae_encode(x):  # the posterior mean
        return vae.apply({"params": vae_params}, jnp.asarray(x), method="encode")[0]

    def vae_decode(z):
        return decode_mean(vae, vae_params, jnp.asarray(z))

    models = {"ae": (ae_encode, ae_decode), "vae": (vae_encode, vae_decode)}
    z_random = jax.random.normal(
        jax.random.fold_in(eval_key, 0), (config.random_latents, config.latent_dim)
    )
    pairs = different_class_pairs(ds.y_test, len(x_test), config.pairs, config.seed)
    classifier = LogisticRegression(max_iter=1000).fit(x_train, ds.y_train)

    def confidence(images):
        return float(classifier.predict_proba(np.asarray(images)).max(axis=1).mean())

    summary = {
        "dataset": ds.name,
        "latent_dim": config.latent_dim,
        "steps": int(state.step),
        "train_seconds": train_seconds,
        "ae_num_params": count_params(ae_params),
        "vae_num_params": count_params(vae_params),
        "test_nearest_distance": float(nearest_distance(x_test, x_train).mean()),
        "test_confidence": confidence(x_test),
    }
    decoded_random, decoded_paths = {}, {}
    steps = np.linspace(0.0, 1.0, 9)[:, None]  # [9, 1]
    for name, (encode, decode) in models.items():
        codes = np.asarray(encode(x_test))  # [N, d]
        decoded_random[name] = np.asarray(decode(z_random))  # [R, D]
        a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
        midpoints = np.asarray(decode(0.5 * (a + b)))  # [P, D]
        decoded_paths[name] = [
            np.asarray(decode((1 - steps) * a[i] + steps * b[i])) for i in range(2)
        ]
        logits_at_code = (
            ae.apply({"params": ae_params}, codes, method="decode")
            if name == "ae"
            else vae.apply({"params": vae_params}, codes, method="decode")
        )
        summary[f"{name}_test_reconstruction"] = float(
            jnp.mean(jax.vmap(bernoulli_nll)(logits_at_code, jnp.asarray(x_test)))
        )
        summary[f"{name}_code_rms"] = float(np.sqrt(np.mean(np.asarray(encode(x_train)) ** 2)))
        summary[f"{name}_random_nearest_distance"] = float(
            nearest_distance(decoded_random[name], x_train).mean()
        )
        summary[f"{name}_random_confidence"] = confidence(decoded_random[name])
        summary[f"{name}_midpoint_nearest_distance"] = float(
            nearest_distance(midpoints, x_train).mean()
        )
    bounds = evaluate(vae, vae_params, x_test, eval_key, iwae_samples=1)
    summary["vae_test_kl"] = float(bounds["kl"].mean())
    summary["vae_test_elbo"] = float(bounds["elbo"].mean())

    shown = slice(0, 10)
    rows = [decoded_random["ae"][shown], decoded_random["vae"][shown]]
    names = [
        f"{name.upper()}, z~N(0,I)\nnearest {summary[f'{name}_random_nearest_distance']:.2f}"
        f"\nconf. {summary[f'{name}_random_confidence']:.2f}"
        for name in ("ae", "vae")
    ]
    for i in range(2):
        ends = x_test[pairs[i]]
        for name in ("ae", "vae"):
            rows.append(np.concatenate([ends[:1], decoded_paths[name][i], ends[1:]]))
            names.append(f"{name.upper()} path {i + 1}")
    viz.image_rows(
        rows,
        names,
        wd.file("ae_vs_vae.png"),
        image_shape=ds.image_shape,
        title=(
            "decoded random latents and interpolations; real test images: nearest-training-"
            f"image distance {summary['test_nearest_distance']:.2f}, classifier confidence "
            f"{summary['test_confidence']:.2f}"
        ),
    )
    viz.training_curves(
        wd.read_metrics(),
        ["ae_reconstruction", "vae_loss"],
        wd.file("loss.png"),
        title="training: AE cross-entropy and VAE −ELBO",
    )
    return wd.write_summary(summary)


def different_class_pairs(labels, num_examples: int, num: int, seed: int) -> np.ndarray:
    """`[num, 2]` random test indices, of two different classes when labels exist."""
    rng = np.random.default_rng(seed)
    pairs = []
    while len(pairs) < num:
        a, b = rng.choice(num_examples, 2, replace=False)
        if labels is None or labels[a] != labels[b]:
            pairs.append((a, b))
    return np.asarray(pairs)


if __name__ == "__main__":
    summary = cli(Config, run)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})
