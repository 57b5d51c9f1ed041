"""VAE losses and models: closed forms, bounds on a linear-Gaussian model, gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads
from scipy.stats import multivariate_normal

from genjax.data import load
from genjax.losses.vae import (
    elbo,
    gaussian_kl,
    gaussian_log_prob,
    iwae_bound,
    reparameterize,
    standard_normal_log_prob,
)
from genjax.models.vae import VAE, binarize, evaluate, make_vae_loss, sample_prior
from genjax.train import TrainState, fit, make_train_step

MEAN = jnp.array([0.5, -1.0, 2.0])
LOGVAR = jnp.array([0.0, -1.5, 0.7])


def test_gaussian_kl_closed_form_matches_monte_carlo():
    z = jax.vmap(lambda k: reparameterize(k, MEAN, LOGVAR))(
        jax.random.split(jax.random.key(0), 200_000)
    )  # [S, 3]
    log_ratio = jax.vmap(
        lambda z: gaussian_log_prob(z, MEAN, LOGVAR) - standard_normal_log_prob(z)
    )(z)
    estimate, stderr = float(log_ratio.mean()), float(log_ratio.std() / math.sqrt(len(z)))
    exact = float(gaussian_kl(MEAN, LOGVAR))
    assert abs(estimate - exact) < 4 * stderr
    assert float(gaussian_kl(jnp.zeros(3), jnp.zeros(3))) == 0.0
    np.testing.assert_allclose(  # one dimension by hand: ½(μ² + σ² − 1 − log σ²)
        gaussian_kl(jnp.array([1.0]), jnp.array([math.log(4.0)])),
        0.5 * (1 + 4 - 1 - math.log(4.0)),
        rtol=1e-6,
    )


def test_reparameterized_sample_has_the_encoder_moments():
    z = jax.vmap(lambda k: reparameterize(k, MEAN, LOGVAR))(
        jax.random.split(jax.random.key(1), 100_000)
    )
    np.testing.assert_allclose(z.mean(0), MEAN, atol=0.02)
    np.testing.assert_allclose(z.var(0), jnp.exp(LOGVAR), rtol=0.02)


def test_reparameterized_gradient_is_unbiased():
    """d/dμ E[z²] = 2μ and d/dlogvar E[z²] = σ² for z ~ N(μ, σ²): the mean of the
    pathwise gradients over many ε matches the closed form."""

    def second_moment(mean, logvar, key):
        return jnp.sum(jnp.square(reparameterize(key, mean, logvar)))

    keys = jax.random.split(jax.random.key(2), 50_000)
    g_mean, g_logvar = jax.vmap(jax.grad(second_moment, argnums=(0, 1)), (None, None, 0))(
        MEAN, LOGVAR, keys
    )
    np.testing.assert_allclose(g_mean.mean(0), 2 * MEAN, atol=0.05)
    np.testing.assert_allclose(g_logvar.mean(0), jnp.exp(LOGVAR), rtol=0.05)


def linear_gaussian_vae(seed: int = 0):
    """A VAE with no hidden layers and a z-independent decoder variance: factor analysis,
    `x = W z + b + noise`, `noise ~ N(0, Ψ)`, so `p(x) = N(b, W Wᵀ + Ψ)` exactly.

    The encoder is the exact posterior's mean shifted by 1 with the exact posterior's
    marginal variances times 1.5: a deliberately poor `q`, about 15 nats below log p(x).
    """
    data_dim, latent_dim = 5, 2
    rng = np.random.default_rng(seed)
    model = VAE(data_dim, latent_dim, hidden=(), likelihood="gaussian", min_stddev=0.01)
    params = model.init(jax.random.key(seed), jnp.zeros((1, data_dim)), jax.random.key(0))
    params = jax.tree.map(np.asarray, params["params"])
    w = rng.normal(size=(data_dim, latent_dim))  # [D, d]
    b = rng.normal(size=data_dim)
    logvar_x = np.log(rng.uniform(0.2, 0.6, size=data_dim))
    min_logvar = 2 * math.log(model.min_stddev)
    offset = math.log(math.expm1(-min_logvar))
    decoder = params["decoder"]["mlp"]["dense_0"]
    decoder["kernel"] = np.concatenate([w.T, np.zeros((latent_dim, data_dim))], axis=1)
    raw = np.log(np.expm1(logvar_x - min_logvar)) - offset  # inverse of the floored softplus
    decoder["bias"] = np.concatenate([b, raw])
    psi_inv = np.diag(np.exp(-logvar_x))
    post_cov = np.linalg.inv(np.eye(latent_dim) + w.T @ psi_inv @ w)  # [d, d]
    gain = post_cov @ w.T @ psi_inv  # [d, D]: E[z | x] = gain (x − b)
    params["mean_head"] = {"kernel": gain.T, "bias": -gain @ b + 1.0}
    params["logvar_head"] = {
        "kernel": np.zeros((data_dim, latent_dim)),
        "bias": np.log(1.5 * np.diag(post_cov)),
    }
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
    marginal = multivariate_normal(b, w @ w.T + np.diag(np.exp(logvar_x)))
    return model, params, marginal


def test_linear_gaussian_vae_bounds_are_ordered_and_iwae_approaches_log_px():
    model, params, marginal = linear_gaussian_vae()
    x = jnp.asarray(marginal.rvs(size=4, random_state=1), jnp.float32)  # [4, 5]
    log_px = marginal.logpdf(np.asarray(x, np.float64))  # [4]
    mean, logvar = model.apply({"params": params}, x, method="encode")  # [4, 2] each

    def ll(x_b):
        def log_likelihood(z):
            out_mean, out_logvar = model.apply({"params": params}, z, method="decode")
            return gaussian_log_prob(x_b, out_mean, out_logvar)

        return log_likelihood

    sample_sizes = (1, 10, 100, 1000)

    @jax.jit
    def one_repeat(key):  # single-sample ELBO [N] and L_k [len(sample_sizes), N]
        keys = jax.random.split(key, len(x))
        elbos = jax.vmap(lambda xb, m, lv, kk: -elbo(ll(xb), m, lv, kk)[0])(x, mean, logvar, keys)
        iwae = [
            jax.vmap(
                lambda xb, m, lv, kk, k=k: iwae_bound(
                    ll(xb), m, lv, kk, num_samples=k, chunk_size=None
                )
            )(x, mean, logvar, keys)
            for k in sample_sizes
        ]
        return elbos, jnp.stack(iwae)

    repeats = 200
    elbos, iwae = jax.vmap(one_repeat)(jax.random.split(jax.random.key(3), repeats))
    elbos, iwae = np.asarray(elbos, np.float64), np.asarray(iwae, np.float64)
    stderr = lambda v: v.std(0) / math.sqrt(repeats)  # noqa: E731
    elbo_mean, iwae_mean = elbos.mean(0), iwae.mean(0)  # [N], [K, N]
    # E[L_1] is the ELBO, well below log p(x) for this imperfect q
    np.testing.assert_array_less(
        np.abs(iwae_mean[0] - elbo_mean), 4 * (stderr(iwae[:, 0]) + stderr(elbos))
    )
    assert np.all(log_px - elbo_mean > 5.0)
    # L_k rises with k (common random numbers: L_k and L_10k share their first k samples)
    rises = np.diff(iwae, axis=1)  # [R, K-1, N]
    assert np.all(rises.mean(0) > 3 * stderr(rises))
    # ... stays a lower bound, and closes the gap to log p(x)
    np.testing.assert_array_less(iwae_mean, log_px + 4 * stderr(iwae))
    gap_10, gap_1000 = log_px - iwae_mean[1], log_px - iwae_mean[3]
    assert np.all(gap_1000 < 0.2) and np.all(gap_1000 < gap_10 / 10)


def test_iwae_bound_does_not_depend_on_the_chunk_size():
    def log_likelihood(z):
        return -0.5 * jnp.sum(jnp.square(z - 1.0))

    key = jax.random.key(4)
    bounds = [
        float(iwae_bound(log_likelihood, MEAN, LOGVAR, key, num_samples=103, chunk_size=c))
        for c in (None, 10, 103, 500)
    ]
    np.testing.assert_allclose(bounds, bounds[0], rtol=1e-6)
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        iwae_bound(log_likelihood, MEAN, LOGVAR, key, num_samples=0)


def test_elbo_gradient_matches_finite_differences():
    """For a fixed key, the reparameterized ELBO is a smooth function of the encoder's
    outputs and of all parameters of a (tanh) VAE."""
    model, params, _ = linear_gaussian_vae()
    x = jnp.linspace(-1.0, 1.0, 5)
    key = jax.random.key(5)

    @jax.jit
    def loss_of_encoder_outputs(mean, logvar):
        def log_likelihood(z):
            out_mean, out_logvar = model.apply({"params": params}, z, method="decode")
            return gaussian_log_prob(x, out_mean, out_logvar)

        return elbo(log_likelihood, mean, logvar, key, beta=2.0)[0]

    check_grads(loss_of_encoder_outputs, (MEAN[:2], LOGVAR[:2]), order=1, modes=["rev"])

    small = VAE(6, 2, hidden=(5,), likelihood="bernoulli", activation=jnp.tanh)
    xb = jax.random.uniform(jax.random.key(6), (3, 6))
    small_params = small.init(jax.random.key(7), xb, key)["params"]
    loss_fn = make_vae_loss(small)
    check_grads(jax.jit(lambda p: loss_fn(p, xb, key)[0]), (small_params,), order=1, modes=["rev"])


@pytest.mark.parametrize(
    "options",
    [
        dict(likelihood="bernoulli"),
        dict(likelihood="gaussian", arch="conv", image_shape=(8, 8, 1), num_classes=10),
    ],
)
def test_shapes_and_gaussian_decoder_floor(options):
    model = VAE(64, 3, hidden=(32, 16), min_stddev=0.1, **options)
    x = jax.random.uniform(jax.random.key(0), (7, 64))
    y = jnp.arange(7) if model.num_classes else None
    z = 10.0 * jax.random.normal(jax.random.key(3), (2, 7, 3))  # extra leading axis
    labels = None if y is None else jnp.stack([y, y])  # [2, 7]

    @jax.jit
    def outputs(x, y, z, labels):
        params = model.init(jax.random.key(1), x, jax.random.key(2), y)["params"]
        encoded = model.apply({"params": params}, x, y, method="encode")
        decoded = model.apply({"params": params}, z, labels, method="decode")
        first = model.apply({"params": params}, x[0], None if y is None else y[0], method="encode")
        return encoded, decoded, first

    (mean, logvar), out, one_example = outputs(x, y, z, labels)
    assert mean.shape == logvar.shape == (7, 3)
    if model.likelihood == "bernoulli":
        assert out.shape == (2, 7, 64)
    else:
        assert out[0].shape == out[1].shape == (2, 7, 64)
        assert float(out[1].min()) >= 2 * math.log(0.1) - 1e-5  # σ >= min_stddev
    np.testing.assert_allclose(one_example[0], mean[0], rtol=1e-5, atol=1e-6)


def test_mlp_parameter_count():
    d, h1, h2, latent, classes = 64, 32, 16, 3, 10
    model = VAE(d, latent, hidden=(h1, h2), likelihood="gaussian", num_classes=classes)
    x, y = jnp.zeros((1, d)), jnp.zeros((1,), jnp.int32)
    shapes = jax.eval_shape(model.init, jax.random.key(0), x, jax.random.key(1), y)
    encoder = (d + classes) * h1 + h1 + h1 * h2 + h2 + 2 * (h2 * latent + latent)
    decoder = (latent + classes) * h2 + h2 + h2 * h1 + h1 + h1 * 2 * d + 2 * d
    sizes = [math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes["params"])]
    assert sum(sizes) == encoder + decoder


def test_bad_configurations_are_refused():
    x = jnp.zeros((1, 64))
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        VAE(64, likelihood="poisson").init(jax.random.key(0), x, jax.random.key(0))
    with pytest.raises(ValueError, match="conv VAE needs image_shape"):
        VAE(64, arch="conv").init(jax.random.key(0), x, jax.random.key(0))
    with pytest.raises(ValueError, match="needs labels y"):
        VAE(64, num_classes=10).init(jax.random.key(0), x, jax.random.key(0))


def test_dynamic_binarization_draws_fresh_binary_inputs_per_key():
    x = jnp.full((1000, 4), 0.3)
    a, b = binarize(jax.random.key(0), x), binarize(jax.random.key(1), x)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert abs(float(a.mean()) - 0.3) < 0.03 and float(jnp.mean(a != b)) > 0.3
    model = VAE(4, 2, hidden=(8,))
    params = model.init(jax.random.key(0), x[:1], jax.random.key(0))["params"]
    dynamic = jax.jit(make_vae_loss(model, dynamic_binarization=True))
    static = jax.jit(make_vae_loss(model))
    # the loss sees binary data: same value as the static loss on binarize(key_0, x)
    key = jax.random.key(9)
    binarize_key, _ = jax.random.split(key)
    np.testing.assert_allclose(
        dynamic(params, x, key)[0], static(params, binarize(binarize_key, x), key)[0], rtol=1e-6
    )


def test_evaluate_gives_per_example_bounds():
    model = VAE(64, 4, hidden=(16,))
    x = jax.random.uniform(jax.random.key(0), (10, 64))
    params = model.init(jax.random.key(1), x, jax.random.key(2))["params"]
    result = evaluate(
        model, params, x, jax.random.key(3), iwae_samples=50, sample_chunk=7, example_chunk=3
    )
    for name in ("reconstruction", "kl", "elbo", "iwae"):
        assert result[name].shape == (10,)
    np.testing.assert_allclose(result["elbo"], -(result["reconstruction"] + result["kl"]))
    assert float(result["iwae"].mean()) > float(result["elbo"].mean())
    # the IWAE bound of example 3 by hand, with the key evaluate derives for it
    mean, logvar = model.apply({"params": params}, x[3], method="encode")

    def log_likelihood(z):
        logits = model.apply({"params": params}, z, method="decode")
        return -optax.sigmoid_binary_cross_entropy(logits, x[3]).sum()

    iwae_key = jax.random.split(jax.random.fold_in(jax.random.key(3), 3))[1]
    by_hand = jax.jit(
        lambda key: iwae_bound(log_likelihood, mean, logvar, key, num_samples=50, chunk_size=None)
    )(iwae_key)
    np.testing.assert_allclose(result["iwae"][3], by_hand, rtol=1e-5)


def test_conditional_vae_samples_follow_the_requested_label():
    from sklearn.linear_model import LogisticRegression

    ds = load("digits")
    classifier = LogisticRegression(max_iter=2000).fit(ds.x_train, ds.y_train)
    assert classifier.score(ds.x_test, ds.y_test) > 0.9
    model = VAE(64, 4, hidden=(128,), likelihood="bernoulli", num_classes=10)
    data = (jnp.asarray(ds.x_train), jnp.asarray(ds.y_train))
    params = model.init(jax.random.key(0), data[0][:1], jax.random.key(1), data[1][:1])
    tx = optax.adam(2e-3)
    state, _ = fit(
        make_train_step(make_vae_loss(model), tx),
        TrainState.create(params["params"], tx, beta=1.0),
        data,
        jax.random.key(2),
        num_steps=1500,
        batch_size=64,
        steps_per_call=500,
        progress=False,
    )
    labels = jnp.repeat(jnp.arange(10), 30)  # [300]
    samples = sample_prior(model, state.params, jax.random.key(3), len(labels), labels)
    accuracy = classifier.score(np.asarray(samples), np.asarray(labels))
    assert accuracy > 0.8  # chance is 0.1
