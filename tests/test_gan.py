"""GAN building blocks: losses, nets, the GAN step, mixtures, metrics, convergence monitor."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads
from scipy.spatial.distance import jensenshannon

from genjax import data as gdata
from genjax.data.synthetic import mixture_modes, sample_mixture
from genjax.losses import (
    GAN_LOSSES,
    gan_loss,
    gradient_penalty,
    hinge_discriminator,
    least_squares_discriminator,
    least_squares_generator,
    minimax_discriminator,
    minimax_generator,
    non_saturating_generator,
    wasserstein_critic,
)
from genjax.metrics import (
    ConvergenceMonitor,
    feature_extractor,
    fid,
    frechet_distance,
    mode_coverage,
    moving_average,
    precision_recall,
)
from genjax.nn import count_params
from genjax.nn.gan import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    make_gan_nets,
)
from genjax.train import fit, member
from genjax.train.gan import (
    GANObjective,
    GANState,
    init_gan,
    init_gan_population,
    make_gan_step,
)


# --- losses ---------------------------------------------------------------------------------
def expected_discriminator_loss(loss, logits, p_data, p_gen):
    """`E_{x~p_data, x'~p_gen} L_D(l(x), l(x'))` on a finite support, as a weighted sum over
    all (real, fake) pairs of the per-example loss."""
    pairs = jax.vmap(jax.vmap(loss, (None, 0)), (0, None))(logits, logits)  # [K, K]
    return jnp.sum(p_data[:, None] * p_gen[None, :] * pairs)


P_DATA = jnp.array([0.1, 0.2, 0.3, 0.4])
P_GEN = jnp.array([0.4, 0.3, 0.2, 0.1])


def test_minimax_value_is_minus_log4_at_the_optimal_discriminator_when_p_g_equals_p_data():
    optimal_logits = jnp.zeros(4)  # D* = p / (p + p) = 1/2 everywhere
    value = -expected_discriminator_loss(minimax_discriminator, optimal_logits, P_DATA, P_DATA)
    np.testing.assert_allclose(value, -math.log(4), rtol=1e-6)


def test_minimax_value_at_the_optimal_discriminator_is_minus_log4_plus_twice_js():
    optimal_logits = jnp.log(P_DATA / P_GEN)  # logit of D* = p_data / (p_data + p_gen)
    value = -expected_discriminator_loss(minimax_discriminator, optimal_logits, P_DATA, P_GEN)
    js = jensenshannon(np.asarray(P_DATA), np.asarray(P_GEN)) ** 2  # natural log
    np.testing.assert_allclose(value, -math.log(4) + 2 * js, rtol=1e-5)
    # ... and D* is a stationary point of the discriminator's expected loss
    grad = jax.grad(expected_discriminator_loss, argnums=1)(
        minimax_discriminator, optimal_logits, P_DATA, P_GEN
    )
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)


def test_non_saturating_generator_keeps_its_gradient_where_minimax_saturates():
    confident_rejection = jnp.array(-10.0)  # D(G(z)) = σ(−10) ≈ 4.5e-5
    minimax_slope = jax.grad(minimax_generator)(confident_rejection)
    non_saturating_slope = jax.grad(non_saturating_generator)(confident_rejection)
    np.testing.assert_allclose(minimax_slope, -jax.nn.sigmoid(-10.0), rtol=1e-5)  # ≈ −4.5e-5
    np.testing.assert_allclose(non_saturating_slope, -jax.nn.sigmoid(10.0), rtol=1e-5)  # ≈ −1
    np.testing.assert_allclose(non_saturating_generator(jnp.array(0.0)), math.log(2), rtol=1e-6)
    check_grads(non_saturating_generator, (jnp.array(0.7),), order=2, modes=["rev"])


def test_least_squares_optimum_is_the_density_ratio_with_loss_a_quarter_at_equality():
    optimal = P_DATA / (P_DATA + P_GEN)  # D* = (b p_data + a p_gen) / (p_data + p_gen)
    grad = jax.grad(expected_discriminator_loss, argnums=1)(
        least_squares_discriminator, optimal, P_DATA, P_GEN
    )
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    at_equality = expected_discriminator_loss(
        least_squares_discriminator, jnp.full(4, 0.5), P_DATA, P_DATA
    )
    np.testing.assert_allclose(at_equality, 0.25, rtol=1e-6)
    assert least_squares_generator(jnp.array(0.25)) == pytest.approx(0.5 * 0.75**2)
    assert least_squares_discriminator(
        jnp.array(0.0), jnp.array(0.0), real_target=1.0, fake_target=-1.0
    ) == pytest.approx(1.0)


def test_hinge_and_wasserstein_values():
    assert hinge_discriminator(jnp.array(0.3), jnp.array(-2.0)) == pytest.approx(0.7)
    assert hinge_discriminator(jnp.array(2.0), jnp.array(0.5)) == pytest.approx(1.5)
    # the critic x -> x is 1-Lipschitz: on point masses at 3 (real) and 1 (fake) its loss
    # is −W1 = −2
    assert wasserstein_critic(jnp.array(3.0), jnp.array(1.0)) == pytest.approx(-2.0)


def test_gradient_penalty_matches_hand_computed_cases():
    real, fake = jnp.array([2.0, 0.0]), jnp.array([0.0, 0.0])
    # linear critic w·x: ∇ = w everywhere, penalty λ(‖w‖ − 1)² = 10 · (5 − 1)²
    linear = lambda x: jnp.dot(jnp.array([3.0, 4.0]), x)  # noqa: E731
    assert gradient_penalty(linear, real, fake, jnp.array(0.3)) == pytest.approx(160.0, rel=1e-5)
    # quadratic critic ½‖x‖²: ∇ = x̂ = 0.25 · (2, 0) = (0.5, 0), penalty 2 · (0.5 − 1)²
    quadratic = lambda x: 0.5 * jnp.sum(x**2)  # noqa: E731
    assert gradient_penalty(quadratic, real, fake, jnp.array(0.25), weight=2.0) == pytest.approx(
        0.5, rel=1e-5
    )
    # the penalty's own gradient (a second derivative of the critic) is right
    check_grads(
        lambda r: gradient_penalty(quadratic, r, fake, jnp.array(0.25)),
        (real,),
        order=1,
        modes=["rev"],
    )
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(linear, real, jnp.zeros(3), jnp.array(0.5))


def test_gan_loss_registry():
    assert gan_loss("wgan_gp").gradient_penalty and gan_loss("wgan_gp").threshold is None
    assert not gan_loss("hinge").gradient_penalty
    with pytest.raises(ValueError, match="unknown GAN loss 'vanilla'; choose from minimax"):
        gan_loss("vanilla")


# --- nets ---------------------------------------------------------------------------------
def test_mlp_nets_shapes_and_parameter_counts():
    key = jax.random.key(0)
    generator, discriminator = MLPGenerator(2, (8, 8)), MLPDiscriminator((8, 8))
    g_params = generator.init(key, jnp.zeros((1, 3)))["params"]
    d_params = discriminator.init(key, jnp.zeros((1, 2)))["params"]
    assert count_params(g_params) == (3 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2)
    assert count_params(d_params) == (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    z = jnp.ones((4, 5, 3))
    x = generator.apply({"params": g_params}, z)
    assert x.shape == (4, 5, 2)
    assert discriminator.apply({"params": d_params}, x).shape == (4, 5)


@pytest.mark.parametrize("image_shape", [(8, 8, 1), (28, 28, 1)])
def test_dcgan_nets_map_latents_to_images_and_images_to_scalars(image_shape):
    generator, discriminator = make_gan_nets(
        "dcgan",
        data_dim=math.prod(image_shape),
        image_shape=image_shape,
        features=4,
        output_activation="sigmoid",
    )
    assert isinstance(generator, DCGANGenerator) and isinstance(discriminator, DCGANDiscriminator)
    key = jax.random.key(1)
    g_params = generator.init(key, jnp.zeros((1, 4)))["params"]
    images = generator.apply({"params": g_params}, jax.random.normal(key, (3, 4)))
    assert images.shape == (3, math.prod(image_shape))
    assert float(images.min()) > 0 and float(images.max()) < 1
    d_params = discriminator.init(key, images[:1])["params"]
    assert discriminator.apply({"params": d_params}, images).shape == (3,)
    assert discriminator.apply({"params": d_params}, images[0]).shape == ()
    height, width, _ = image_shape
    first_map = height // 4 * width // 4 * 8  # 2 × features channels
    assert g_params["project"]["kernel"].shape == (4, first_map)


def test_nets_reject_bad_configurations():
    with pytest.raises(ValueError, match="divisible by 4"):
        DCGANGenerator((10, 10, 1)).init(jax.random.key(0), jnp.zeros((1, 2)))
    with pytest.raises(ValueError, match="needs image data"):
        make_gan_nets("dcgan", data_dim=2)
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        make_gan_nets("resnet", data_dim=2)
    with pytest.raises(ValueError, match="unknown output activation"):
        MLPGenerator(2, output_activation="relu").init(jax.random.key(0), jnp.zeros((1, 2)))


# --- the GAN step -----------------------------------------------------------------------------
def tiny_objective(loss="non_saturating"):
    generator, discriminator = make_gan_nets("mlp", data_dim=2, hidden=(16, 16))
    return GANObjective(generator, discriminator, latent_dim=2, loss=loss)


@pytest.fixture(scope="module")
def ring():
    return jnp.asarray(gdata.load("ring8", num_examples=2000).x_train)


def tree_equal(a, b):
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b)))


def test_gan_step_updates_d_first_then_g_against_the_updated_d(ring):
    objective = tiny_objective()
    sgd = optax.sgd(0.1)
    state = init_gan(objective, jax.random.key(0), ring[0], sgd, sgd)
    real, key = ring[:32], jax.random.key(5)
    new, metrics = jax.jit(make_gan_step(objective, sgd, sgd))(state, real, key)

    @jax.jit
    def by_hand(g_params, d_params):
        d_key, g_key = jax.random.split(key)
        (d_update_key,) = jax.random.split(d_key, 1)
        d_grads = jax.grad(objective.discriminator_loss, has_aux=True)(
            d_params, g_params, real, d_update_key
        )[0]
        d_new = jax.tree.map(lambda p, g: p - 0.1 * g, d_params, d_grads)
        g_grads = jax.grad(objective.generator_loss, has_aux=True)(g_params, d_new, 32, g_key)[0]
        return jax.tree.map(lambda p, g: p - 0.1 * g, g_params, g_grads), d_new

    g_expected, d_expected = by_hand(state.generator.params, state.discriminator.params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        (new.discriminator.params, new.generator.params),
        (d_expected, g_expected),
    )
    assert (int(new.step), int(new.discriminator.step), int(new.generator.step)) == (1, 1, 1)
    expected_metrics = {
        "loss", "grad_norm", "d_loss", "g_loss", "d_accuracy", "d_accuracy_real",
        "d_accuracy_fake", "d_grad_norm", "g_grad_norm", "d_output_real", "d_output_fake",
    }  # fmt: skip
    assert set(metrics) == expected_metrics
    assert metrics["loss"] == metrics["d_loss"]
    np.testing.assert_allclose(
        metrics["grad_norm"], math.hypot(metrics["d_grad_norm"], metrics["g_grad_norm"]), rtol=1e-5
    )
    for name in ("d_accuracy", "d_accuracy_real", "d_accuracy_fake"):
        assert 0.0 <= float(metrics[name]) <= 1.0


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_gan_step_changes_only_the_player_that_learns(ring, frozen):
    objective = tiny_objective()
    learns, still = optax.adam(1e-2), optax.sgd(0.0)
    g_tx, d_tx = (still, learns) if frozen == "generator" else (learns, still)
    state = init_gan(objective, jax.random.key(0), ring[0], g_tx, d_tx)
    step = jax.jit(make_gan_step(objective, g_tx, d_tx, d_steps=3))
    new, _ = step(state, ring[:48], jax.random.key(1))
    assert tree_equal(getattr(new, frozen).params, getattr(state, frozen).params)
    other = "discriminator" if frozen == "generator" else "generator"
    assert not tree_equal(getattr(new, other).params, getattr(state, other).params)
    assert (int(new.discriminator.step), int(new.generator.step)) == (3, 1)


def test_discriminator_steps_split_the_batch(ring):
    objective = tiny_objective()
    tx = optax.adam(1e-3)
    state = init_gan(objective, jax.random.key(0), ring[0], tx, tx)
    with pytest.raises(ValueError, match="does not split into d_steps=3"):
        make_gan_step(objective, tx, tx, d_steps=3)(state, ring[:32], jax.random.key(1))
    with pytest.raises(ValueError, match="d_steps must be >= 1"):
        make_gan_step(objective, tx, tx, d_steps=0)


def train(objective, ring, key, steps=60, **kw):
    tx = optax.adam(2e-3, b1=0.5)
    state = init_gan(objective, jax.random.key(0), ring[0], tx, tx, **kw)
    step = make_gan_step(objective, tx, tx)
    return fit(
        step, state, ring, key, num_steps=steps, batch_size=32, steps_per_call=30, progress=False
    )


def test_fit_trains_a_gan_deterministically(ring):
    objective = tiny_objective()
    first, history = train(objective, ring, jax.random.key(3))
    second, _ = train(objective, ring, jax.random.key(3))
    assert tree_equal(first, second)
    assert [row["step"] for row in history] == [30, 60] and int(first.step) == 60
    tx = optax.adam(2e-3, b1=0.5)
    step = jax.jit(make_gan_step(objective, tx, tx))
    state = init_gan(objective, jax.random.key(0), ring[0], tx, tx)
    other_key, _ = step(state, ring[:32], jax.random.key(4))
    same_key, _ = step(state, ring[:32], jax.random.key(3))
    again, _ = step(state, ring[:32], jax.random.key(3))
    assert tree_equal(same_key, again)
    assert not tree_equal(same_key.generator.params, other_key.generator.params)


@pytest.mark.parametrize("loss", list(GAN_LOSSES))
def test_every_loss_trains_in_the_step_with_finite_metrics(ring, loss):
    objective = tiny_objective(loss)
    tx = optax.adam(1e-3)
    state = init_gan(objective, jax.random.key(0), ring[0], tx, tx, gp_weight=10.0)
    new, metrics = jax.jit(make_gan_step(objective, tx, tx))(state, ring[:32], jax.random.key(1))
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())
    assert ("gradient_penalty" in metrics) == (loss == "wgan_gp")
    assert not tree_equal(new.generator.params, state.generator.params)


def test_vmapped_population_members_match_single_models_with_their_own_hparams(ring):
    objective = tiny_objective("wgan_gp")
    tx = optax.adam(1e-3)
    keys = jnp.stack([jax.random.key(0), jax.random.key(0)])  # same nets, weights 1 and 10
    population = init_gan_population(objective, keys, ring[0], tx, tx, gp_weight=[1.0, 10.0])
    step = make_gan_step(objective, tx, tx)
    population_step = jax.jit(jax.vmap(step, in_axes=(0, None, 0)))
    _, metrics = population_step(population, ring[:32], jnp.stack([jax.random.key(1)] * 2))
    penalty = metrics["gradient_penalty"]  # [2]
    np.testing.assert_allclose(penalty[1], 10 * penalty[0], rtol=1e-5)
    single_step = jax.jit(step)
    single = member(population, 1)
    for i in range(3):
        batch, key = ring[32 * i : 32 * (i + 1)], jax.random.key(i)
        population, _ = population_step(population, batch, jnp.stack([key, key]))
        single, _ = single_step(single, batch, key)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
        member(population, 1),
        single,
    )


def test_gan_state_is_a_pytree_with_a_step_counter():
    objective = tiny_objective()
    tx = optax.adam(1e-3)
    g_params, d_params = objective.init(jax.random.key(0), jnp.zeros(2))
    state = GANState.create(g_params, d_params, tx, tx, gp_weight=5.0)
    assert state.step.dtype == jnp.int32 and int(state.step) == 0
    assert float(state.hparams["gp_weight"]) == 5.0
    leaves = jax.tree.leaves(state)
    assert (
        len(leaves)
        == 1 + len(jax.tree.leaves(state.generator)) + len(jax.tree.leaves(state.discriminator)) + 1
    )


# --- synthetic mixtures and their metrics ---------------------------------------------------
def test_mixture_datasets_are_registered_with_their_modes():
    ring8, grid25 = gdata.load("ring8"), gdata.load("grid25", num_examples=1000)
    assert ring8.x_train.shape == (16_000, 2) and ring8.num_classes == 8
    assert grid25.x_train.shape == (800, 2) and grid25.x_test.shape == (200, 2)
    np.testing.assert_allclose(np.linalg.norm(mixture_modes("ring8").centres, axis=1), 2.0)
    centres = mixture_modes("grid25").centres
    assert sorted(set(centres[:, 0])) == [-4, -2, 0, 2, 4] and len(centres) == 25
    labels = grid25.y_train
    offsets = grid25.x_train - centres[labels]
    assert np.abs(offsets).max() < 6 * 0.05
    np.testing.assert_array_equal(
        gdata.load("grid25", seed=3).x_train, gdata.load("grid25", seed=3).x_train
    )
    with pytest.raises(ValueError, match="not a Gaussian mixture"):
        mixture_modes("digits")


def test_mode_coverage_of_the_mixture_itself_matches_the_chi2_closed_form():
    mixture = mixture_modes("grid25")
    x, _ = sample_mixture(mixture, 40_000, seed=0)
    result = mode_coverage(x, mixture.centres, mixture.std)
    assert result["modes_covered"] == 25
    # P(‖ε‖ ≤ 3σ) for a 2-D isotropic Gaussian = 1 − exp(−9/2); binomial sd ≈ 5e-4
    assert result["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=2.5e-3)
    assert result["mode_kl"] < 0.01


def test_mode_coverage_detects_collapse_and_off_mode_samples():
    mixture = mixture_modes("grid25")
    collapsed = np.tile(mixture.centres[7], (100, 1)) + 0.01
    result = mode_coverage(collapsed, mixture.centres, mixture.std)
    assert result["modes_covered"] == 1 and result["high_quality_fraction"] == 1.0
    assert result["mode_kl"] == pytest.approx(math.log(25))
    between = np.array([[1.0, 1.0], [-3.0, 1.0], [np.nan, 0.0]])  # midway between modes
    result = mode_coverage(between, mixture.centres, mixture.std)
    assert result["modes_covered"] == 0 and result["high_quality_fraction"] == 0.0
    assert math.isnan(result["mode_kl"])
    two_modes = np.concatenate([np.tile(mixture.centres[0], (5, 1)), mixture.centres[1:2]])
    assert mode_coverage(two_modes, mixture.centres, mixture.std, min_count=2)["modes_covered"] == 1
    with pytest.raises(ValueError, match="must share d"):
        mode_coverage(np.zeros((3, 3)), mixture.centres, mixture.std)


# --- FID and precision / recall ----------------------------------------------------------------
def test_frechet_distance_closed_forms():
    mean_a, mean_b = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    std_a, std_b = np.array([1.0, 2.0]), np.array([0.5, 3.0])
    # diagonal covariances: ‖μ_a − μ_b‖² + Σ (σ_a − σ_b)²
    expected = 9 + 4 + 0.25 + 1
    got = frechet_distance(mean_a, np.diag(std_a**2), mean_b, np.diag(std_b**2))
    assert got == pytest.approx(expected, rel=1e-6)
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    cov = rotation @ np.diag([4.0, 0.25]) @ rotation.T
    assert frechet_distance(mean_a, cov, mean_a, cov) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="must match"):
        frechet_distance(mean_a, cov, mean_b, np.eye(3))


def test_fid_precision_recall_on_features():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((600, 4))
    same = rng.standard_normal((600, 4))
    shifted = same + np.array([4.0, 0, 0, 0])
    collapsed = 0.1 * rng.standard_normal((600, 4))  # all near the centre: good, not diverse
    assert fid(real, same) < 0.1 < 15 < fid(real, shifted)
    precision, recall = precision_recall(real, same)
    assert precision > 0.9 and recall > 0.9
    assert precision_recall(real, shifted)[0] < 0.2
    collapsed_precision, collapsed_recall = precision_recall(real, collapsed)
    assert collapsed_precision > 0.95 and collapsed_recall < 0.3
    with pytest.raises(ValueError, match="k must be in"):
        precision_recall(real, same, k=600)


def test_feature_classifier_learns_digits_and_is_cached(tmp_path):
    ds = gdata.load("digits")
    extractor = feature_extractor(ds, cache_dir=tmp_path / "clf", steps=150)
    assert extractor.test_accuracy > 0.85
    features = extractor(ds.x_test)
    assert features.shape == (len(ds.x_test), 128)
    assert fid(extractor(ds.x_train), features) < fid(
        extractor(ds.x_train), extractor(1 - ds.x_test)
    )
    cached = feature_extractor(ds, cache_dir=tmp_path / "clf", steps=150)
    assert tree_equal(cached.params, extractor.params)


# --- convergence monitor ----------------------------------------------------------------------
def test_moving_average():
    np.testing.assert_allclose(moving_average(np.array([1.0, 3, 5, 7]), 2), [1, 2, 4, 6])
    two_members = moving_average(np.array([[1.0, 0], [3, 0], [5, 2]]), 3)
    np.testing.assert_allclose(two_members, [[1, 0], [2, 0], [3, 2 / 3]])


def test_convergence_monitor_needs_the_windowed_accuracy_in_the_band_for_patience_logs():
    monitor = ConvergenceMonitor(window=2, tolerance=0.05, patience=3)
    accuracies = [0.9, 0.8, 0.52, 0.49, 0.7, 0.5, 0.5, 0.51, 0.5]
    # windowed: 0.9, 0.85, 0.66, 0.505 (in), 0.595, 0.6, 0.5 (in), 0.505 (in), 0.505 (in)
    converged = [
        monitor.update({"step": 10 * i, "d_accuracy": a}) for i, a in enumerate(accuracies)
    ]
    assert converged == [False] * 8 + [True]
    assert monitor.converged_at == 80
    monitor = ConvergenceMonitor(window=3, tolerance=0.1, patience=1, start_step=2)
    assert [monitor.update({"step": i, "d_accuracy": 0.5}) for i in range(6)] == [0] * 5 + [1]
    population = ConvergenceMonitor(window=1, tolerance=0.1, patience=1)
    assert not population.update({"step": 1, "d_accuracy": [0.5, 0.9]})
    assert population.update({"step": 2, "d_accuracy": [0.55, 0.45]})
    with pytest.raises(ValueError, match="lacks 'd_accuracy'"):
        population.update({"step": 3, "loss": 1.0})


def test_gan_data_and_defaults_follow_the_dataset():
    from genjax import data as gdata
    from genjax.models.gan import default_architecture, default_latent_dim, gan_data

    digits = gdata.load("digits")
    x_train, _, output = gan_data(digits)
    assert output == "sigmoid" and x_train is digits.x_train  # grey levels in [0, 1]
    points = gdata.load("grid25")
    assert gan_data(points)[2] == "linear" and default_latent_dim(points.input_dim) == 2
    table = gdata.load("breast_cancer")
    x_train, x_test, output = gan_data(table)
    assert output == "linear"
    np.testing.assert_allclose(x_train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(x_train.std(0), 1, atol=1e-3)
    assert default_architecture((28, 28, 1)) == "dcgan"
    assert default_architecture((8, 8, 1)) == "mlp"  # digits
    assert default_architecture((30, 30, 3)) == "mlp"  # sides not divisible by 4
    assert default_architecture(None) == "mlp"
