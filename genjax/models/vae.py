"""Variational autoencoders: Gaussian encoder, Bernoulli or Gaussian decoder, MLP or conv,
optionally conditioned on a class label.

    model = VAE(input_dim=64, latent_dim=8, hidden=(256, 128), likelihood="gaussian")
    params = model.init(key, x, key)["params"]                      # x [B, 64]
    mean, logvar = model.apply({"params": params}, x, method="encode")  # [B, 8] each
    output = model.apply({"params": params}, z, method="decode")        # see below
    loss_fn = make_vae_loss(model)            # loss_fn(params, x, key, *, beta=1.0)

The generative model is `p(z) = N(0, I)`, `p(x | z)` the decoder's likelihood; the encoder
is `q(z | x) = N(μ(x), diag σ²(x))` with the two heads `μ` and `log σ²` on one trunk; a
sample is `z = μ + σ ⊙ ε` with `ε` drawn from an explicit key (`genjax.losses.vae`).

Decoders (`likelihood`):
- "bernoulli": `decode(z)` gives logits `l [..., D]`, `p(x | z) = Π_j σ(l_j)^{x_j}
  (1 − σ(l_j))^{1 − x_j}` for binary data; for grey levels in [0, 1] this is the
  cross-entropy, not a normalized density.
- "gaussian": `decode(z)` gives `(mean, logvar)`, both `[..., D]`, `p(x | z) =
  N(x; mean, diag e^{logvar})` (Kingma & Welling 2014, appendix C.2). The variance depends
  on `z` and is floored, `logvar = log s² + softplus(a + c)` with `s = min_stddev` and `c`
  such that `a = 0` gives σ = 1: without a floor, pixels that are constant in the data
  (the digits' blank border) would drive σ to 0 and the likelihood to infinity.

Architectures (`arch`): "mlp" (the encoder trunk is `hidden`, the decoder mirrors it) or
"conv" (`genjax.nn.ConvEncoder` with `conv_features` to a `hidden[-1]`-wide layer, and
`genjax.nn.ConvDecoder` with the features reversed; `image_shape` is required).
Inputs stay flat `[..., D]` for both; the conv modules reshape to `[N, H, W, C]` inside.

Conditional VAE (`num_classes > 0`): the label's one-hot goes into the encoder (appended
to the input of the MLP trunk, or to the conv trunk's features) and into the decoder
(appended to `z`), so `q(z | x, y)` and `p(x | z, y)`; the prior stays `N(0, I)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genjax.losses.reconstruction import bernoulli_nll
from genjax.losses.vae import elbo, gaussian_log_prob, iwae_bound, reparameterize
from genjax.nn.conv import ConvDecoder, ConvEncoder
from genjax.nn.mlp import MLP, Decoder

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHS = ("mlp", "conv")


class VAE(nn.Module):
    """`x [..., D] -> (mean, logvar) [..., d]`, `z [..., d] -> decoder output`.

    Methods: `encode(x, y=None)`, `decode(z, y=None)` and `__call__(x, key, y=None)` (the
    decoder output at one reparameterized sample; used by `init`). `y` holds integer
    labels `[...]`, required iff `num_classes > 0`.
    """

    input_dim: int
    latent_dim: int = 16
    hidden: Sequence[int] = (256, 128)
    likelihood: str = "bernoulli"
    arch: str = "mlp"
    image_shape: tuple[int, int, int] | None = None
    conv_features: Sequence[int] = (32, 64)
    num_classes: int = 0
    min_stddev: float = 0.05
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self):
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"unknown likelihood {self.likelihood!r}; choose from {', '.join(LIKELIHOODS)}"
            )
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose from {', '.join(ARCHS)}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if not 0.0 < self.min_stddev < 1.0:
            raise ValueError(f"min_stddev must lie in (0, 1), got {self.min_stddev}")
        # the Gaussian decoder emits a mean and a log-variance per feature
        outputs_per_feature = 2 if self.likelihood == "gaussian" else 1
        if self.arch == "mlp":
            self.trunk = MLP(tuple(self.hidden), self.activation, activate_final=True)
            self.decoder = Decoder(
                tuple(reversed(self.hidden)), outputs_per_feature * self.input_dim, self.activation
            )
        else:
            if self.image_shape is None or math.prod(self.image_shape) != self.input_dim:
                raise ValueError(
                    f"the conv VAE needs image_shape (H, W, C) with H·W·C = {self.input_dim}, "
                    f"got {self.image_shape}"
                )
            height, width, channels = self.image_shape
            trunk_dim = self.hidden[-1] if self.hidden else 256
            self.trunk = ConvEncoder(tuple(self.conv_features), trunk_dim, self.activation)
            self.decoder = ConvDecoder(
                (height, width, outputs_per_feature * channels),
                tuple(reversed(self.conv_features)),
                self.activation,
            )
        self.mean_head = nn.Dense(self.latent_dim)
        self.logvar_head = nn.Dense(self.latent_dim)

    def _one_hot(self, y: jax.Array | None) -> jax.Array | None:
        if (y is None) != (self.num_classes == 0):
            raise ValueError(
                "a conditional VAE (num_classes > 0) needs labels y, an unconditional one none"
            )
        return None if y is None else jax.nn.one_hot(y, self.num_classes)

    def encode(self, x: jax.Array, y: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        """`x [..., D]` (and labels `y [...]`) -> `(μ, log σ²)`, each `[..., d]`."""
        label = self._one_hot(y)
        batch_shape = x.shape[:-1]
        if self.arch == "mlp":
            h = x if label is None else jnp.concatenate([x, label], axis=-1)
            h = self.trunk(h)  # [..., hidden[-1]]
        else:
            images = x.reshape(-1, *self.image_shape)  # [N, H, W, C]
            h = self.activation(self.trunk(images)).reshape(*batch_shape, -1)  # [..., trunk]
            if label is not None:
                h = jnp.concatenate([h, label], axis=-1)
        return self.mean_head(h), self.logvar_head(h)

    def decode(self, z: jax.Array, y: jax.Array | None = None):
        """`z [..., d]` -> logits `[..., D]` (bernoulli) or `(mean, logvar)` `[..., D]` each."""
        label = self._one_hot(y)
        h = z if label is None else jnp.concatenate([z, label], axis=-1)
        batch_shape = z.shape[:-1]
        if self.arch == "mlp":
            out = self.decoder(h)  # [..., k·D]
        else:
            out = self.decoder(h.reshape(-1, h.shape[-1]))  # [N, H, W, k·C]
            if self.likelihood == "gaussian":  # channels [mean C | logvar C] -> [mean D | logvar D]
                c = self.image_shape[-1]
                out = jnp.concatenate(
                    [out[..., :c].reshape(len(out), -1), out[..., c:].reshape(len(out), -1)],
                    axis=-1,
                )
            out = out.reshape(*batch_shape, -1)  # [..., k·D]
        if self.likelihood == "bernoulli":
            return out  # logits
        mean, raw = jnp.split(out, 2, axis=-1)
        min_logvar = 2.0 * math.log(self.min_stddev)
        offset = math.log(math.expm1(-min_logvar))  # softplus(offset) = −min_logvar: σ = 1
        return mean, min_logvar + jax.nn.softplus(raw + offset)

    def __call__(self, x: jax.Array, key: jax.Array, y: jax.Array | None = None):
        mean, logvar = self.encode(x, y)
        return self.decode(reparameterize(key, mean, logvar), y)


def log_likelihood(likelihood: str, output, x: jax.Array) -> jax.Array:
    """`log p(x | z)` of ONE example from the decoder's output at `z` (a scalar, nats)."""
    if likelihood == "bernoulli":
        return -bernoulli_nll(output, x)
    if likelihood == "gaussian":
        mean, logvar = output
        return gaussian_log_prob(x, mean, logvar)
    raise ValueError(f"unknown likelihood {likelihood!r}; choose from {', '.join(LIKELIHOODS)}")


def decoder_mean(likelihood: str, output) -> jax.Array:
    """`E[x | z]`: `σ(logits)` for bernoulli, the mean for gaussian (for pictures)."""
    return jax.nn.sigmoid(output) if likelihood == "bernoulli" else output[0]


def _split_batch(model: VAE, batch):
    """`batch` is `x` or `(x, y)`; a conditional model needs the labels."""
    x, y = batch if isinstance(batch, tuple | list) else (batch, None)
    if model.num_classes == 0:
        y = None
    elif y is None:
        raise ValueError("a conditional VAE needs (x, y) batches with labels")
    return x, y


def binarize(key: jax.Array, x: jax.Array) -> jax.Array:
    """`b ~ Bernoulli(x)` elementwise for `x` in [0, 1] (stochastic binarization)."""
    return jax.random.bernoulli(key, x).astype(x.dtype)


def make_vae_loss(model: VAE, *, dynamic_binarization: bool = False):
    """`loss_fn(params, batch, key, *, beta=1.0) -> (mean loss, metrics)` for `fit`.

    `batch` is `x [B, D]` or `(x, y)` for a conditional model. Per example, the β-VAE loss
    `−log p(x | z) + β KL(q(z | x) ‖ N(0, I))` at one reparameterized `z` (see
    `genjax.losses.vae.elbo`), averaged over the batch. With `dynamic_binarization`, every
    call first draws `x ~ Bernoulli(x)` afresh from its own key. Metrics: `loss`,
    `reconstruction`, `kl` (batch means) and `elbo = −(reconstruction + kl)` (β = 1).
    """

    def loss_fn(params, batch, key, *, beta=1.0):
        x, y = _split_batch(model, batch)
        binarize_key, sample_key = jax.random.split(key)
        if dynamic_binarization:
            x = binarize(binarize_key, x)
        variables = {"params": params}
        mean, logvar = model.apply(variables, x, y, method="encode")  # [B, d] each
        keys = jax.random.split(sample_key, x.shape[0])  # [B]

        def per_example(x_b, y_b, mean_b, logvar_b, key_b):
            def ll(z):
                return log_likelihood(
                    model.likelihood, model.apply(variables, z, y_b, method="decode"), x_b
                )

            return elbo(ll, mean_b, logvar_b, key_b, beta=beta)

        _, metrics = jax.vmap(per_example)(x, y, mean, logvar, keys)
        metrics = {name: jnp.mean(value) for name, value in metrics.items()}
        metrics["elbo"] = -(metrics["reconstruction"] + metrics["kl"])
        return metrics["loss"], metrics

    return loss_fn


def evaluate(
    model: VAE,
    params,
    batch,
    key: jax.Array,
    *,
    iwae_samples: int,
    sample_chunk: int = 500,
    example_chunk: int = 64,
) -> dict[str, np.ndarray]:
    """Per-example bounds on held-out data, each `[N]` in nats.

    `reconstruction` (`−log p(x | z)`, one z per example), `kl` (analytic),
    `elbo = −(reconstruction + kl)`, and `iwae = L_k` with `k = iwae_samples`
    (`−iwae` estimates the NLL). Examples go through one compiled call `example_chunk` at a
    time (the last call padded) and samples `sample_chunk` at a time inside it, so the
    decoder holds at most `example_chunk × sample_chunk` activations at once (k = 5000 fits
    on a laptop). The keys of example `n` are `fold_in(key, n)`, so the values do not
    depend on the chunk sizes.
    """
    if example_chunk < 1:
        raise ValueError(f"example_chunk must be >= 1, got {example_chunk}")
    x, y = _split_batch(model, batch)
    x = np.asarray(x)
    num = len(x)
    size = min(example_chunk, num)
    results = []
    for start in range(0, num, size):
        index = np.minimum(np.arange(start, start + size), num - 1)  # [size], padded
        chunk_y = None if y is None else jnp.asarray(np.asarray(y)[index])
        out = _evaluate_chunk(
            model,
            params,
            jnp.asarray(x[index]),
            chunk_y,
            key,
            jnp.asarray(index),
            iwae_samples=iwae_samples,
            sample_chunk=sample_chunk,
        )
        results.append(jax.device_get(out))
    return {name: np.concatenate([r[name] for r in results])[:num] for name in results[0]}


@partial(jax.jit, static_argnames=("model", "iwae_samples", "sample_chunk"))
def _evaluate_chunk(model, params, x, y, key, index, *, iwae_samples, sample_chunk):
    """`evaluate` on examples `x [n, D]` whose positions in the data set are `index [n]`."""
    variables = {"params": params}

    def per_example(x_b, y_b, index_b):
        elbo_key, iwae_key = jax.random.split(jax.random.fold_in(key, index_b))
        mean, logvar = model.apply(variables, x_b, y_b, method="encode")  # [d] each

        def ll(z):
            return log_likelihood(
                model.likelihood, model.apply(variables, z, y_b, method="decode"), x_b
            )

        _, terms = elbo(ll, mean, logvar, elbo_key)
        bound = iwae_bound(
            ll, mean, logvar, iwae_key, num_samples=iwae_samples, chunk_size=sample_chunk
        )
        return {
            "reconstruction": terms["reconstruction"],
            "kl": terms["kl"],
            "elbo": -terms["loss"],
            "iwae": bound,
        }

    return jax.vmap(per_example)(x, y, index)


@partial(jax.jit, static_argnames=("model", "num"))
def sample_prior(model: VAE, params, key: jax.Array, num: int, y: jax.Array | None = None):
    """Decoder means `[num, D]` at `z ~ N(0, I)` (with labels `y [num]` if conditional)."""
    z = jax.random.normal(key, (num, model.latent_dim))
    return decode_mean(model, params, z, y)


@partial(jax.jit, static_argnames="model")
def decode_mean(model: VAE, params, z: jax.Array, y: jax.Array | None = None) -> jax.Array:
    """`E[x | z]` for latents `z [..., d]`."""
    output = model.apply({"params": params}, z, y, method="decode")
    return decoder_mean(model.likelihood, output)


@partial(jax.jit, static_argnames="model")
def encode_mean(model: VAE, params, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    """The posterior means `μ(x) [..., d]` (the codes used for pictures)."""
    return model.apply({"params": params}, x, y, method="encode")[0]
