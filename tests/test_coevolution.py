"""Co-evolution on a torus: neighbourhoods, selection, mutation, the mixture ES, one
compiled epoch for the whole grid, and the same result on 1 and on 8 (simulated) devices."""

import json
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from genjax.coevolution import bench as coevolution_bench
from genjax.coevolution import epoch as coevolution_epoch
from genjax.coevolution import (
    learning_rate,
    mixture_es_step,
    mixture_sample,
    mode_score,
    mutate_learning_rate,
    neighbour_indices,
    neighbourhood,
    optimize_mixture,
    parse_grid,
    select,
    tournament_select,
)
from genjax.coevolution.scores import frechet_distance, mmd_score
from genjax.train import loop


# --- the torus ------------------------------------------------------------------------------
def test_neighbour_indices_wrap_around_the_corners():
    hood = neighbour_indices((3, 4))  # cells r * 4 + q; slots: self, N, S, W, E
    assert hood.shape == (12, 5)
    assert hood[0].tolist() == [0, 8, 4, 3, 1]  # top-left: north is the bottom row
    assert hood[3].tolist() == [3, 11, 7, 2, 0]  # top-right: east wraps to column 0
    assert hood[8].tolist() == [8, 4, 0, 11, 9]  # bottom-left: south is the top row
    assert hood[11].tolist() == [11, 7, 3, 10, 8]  # bottom-right
    assert hood[5].tolist() == [5, 1, 9, 4, 6]  # an inner cell
    # every cell sits in exactly five neighbourhoods (its own and its four neighbours')
    assert np.bincount(hood.ravel(), minlength=12).tolist() == [5] * 12


def test_rolled_neighbourhood_matches_the_index_table():
    grid_shape = (3, 4)
    tree = {
        "w": jax.random.normal(jax.random.key(0), (12, 2, 3)),
        "n": jnp.arange(12, dtype=jnp.int32),
    }
    hood = neighbourhood(tree, grid_shape)
    index = neighbour_indices(grid_shape)
    assert hood["w"].shape == (12, 5, 2, 3)
    np.testing.assert_array_equal(hood["w"], np.asarray(tree["w"])[index])
    np.testing.assert_array_equal(hood["n"], index)


def test_grid_shapes_are_checked():
    assert parse_grid("3x4") == (3, 4)
    with pytest.raises(ValueError, match="ROWSxCOLUMNS"):
        parse_grid("3by3")
    with pytest.raises(ValueError, match="rows, columns"):
        neighbour_indices((0, 3))
    with pytest.raises(ValueError, match="leading cell axis of 9"):
        neighbourhood(jnp.zeros((8, 2)), (3, 3))


# --- selection -------------------------------------------------------------------------------
def test_full_tournament_selects_the_best_and_the_best_centre_is_never_replaced():
    keys = jax.random.split(jax.random.key(1), 50)
    fitness = jnp.array([0.7, 0.9, 0.2, 0.5, 0.4])  # lower is better: slot 2 is best
    assert set(jax.vmap(lambda k: tournament_select(k, fitness, 5))(keys).tolist()) == {2}
    assert set(jax.vmap(lambda k: select(k, fitness, 5))(keys).tolist()) == {2}
    best_centre = jnp.array([0.1, 0.9, 0.2, 0.5, 0.4])
    for size in range(1, 6):
        chosen = jax.vmap(lambda k, s=size: select(k, best_centre, s))(keys)
        assert set(chosen.tolist()) == {0}


def test_small_tournaments_never_pick_the_worst_and_never_make_a_cell_worse():
    keys = jax.random.split(jax.random.key(2), 200)
    fitness = jax.random.uniform(jax.random.key(3), (5,))
    winners = jax.vmap(lambda k: tournament_select(k, fitness, 2))(keys)
    assert int(jnp.argmax(fitness)) not in set(winners.tolist())
    assert len(set(winners.tolist())) > 1  # random entrants, not always the best
    kept = jax.vmap(lambda k: select(k, fitness, 2))(keys)
    assert bool(jnp.all(fitness[kept] <= fitness[0]))
    with pytest.raises(ValueError, match="tournament size"):
        tournament_select(keys[0], fitness, 6)


# --- mutation --------------------------------------------------------------------------------
def _adam_state():
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    opt_state = tx.init(params)
    grads = {"w": jnp.full((3, 2), 0.5), "b": jnp.ones(2)}
    _, opt_state = tx.update(grads, opt_state, params)  # non-trivial moments and count
    return opt_state


def test_mutation_changes_only_the_learning_rate():
    before = _adam_state()
    after = mutate_learning_rate(jax.random.key(0), before, probability=1.0, std=1e-4, minimum=1e-5)
    assert float(learning_rate(after)) != pytest.approx(1e-3, abs=1e-9)
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, after)
    assert jax.tree.leaves(changed._replace(hyperparams={})) and not any(
        jax.tree.leaves(changed._replace(hyperparams={}))
    )
    assert changed.hyperparams["learning_rate"]
    assert not any(v for k, v in changed.hyperparams.items() if k != "learning_rate")


def test_mutation_respects_probability_and_floor():
    state = _adam_state()
    keys = jax.random.split(jax.random.key(4), 400)

    def rate(key, probability, std):
        opt = mutate_learning_rate(key, state, probability=probability, std=std, minimum=5e-4)
        return learning_rate(opt)

    assert bool(jnp.all(jax.vmap(lambda k: rate(k, 0.0, 1e-3))(keys) == 1e-3))
    rates = jax.vmap(lambda k: rate(k, 0.5, 1e-3))(keys)
    assert 0.4 < float(jnp.mean(rates != 1e-3)) < 0.6
    assert float(jnp.min(rates)) == pytest.approx(5e-4)  # the floor is hit and kept
    with pytest.raises(ValueError, match="inject_hyperparams"):
        learning_rate(optax.adam(1e-3).init({"w": jnp.ones(2)}))


# --- the mixture ES and the scores ----------------------------------------------------------
def test_mixture_es_moves_weight_to_the_component_the_score_prefers():
    # component 0 puts its samples on the target point, the others far away
    samples = jnp.stack([jnp.zeros((200, 2)), *[jnp.full((200, 2), 5.0)] * 4])  # [5, M, 2]

    def score(x, real):
        del real
        return -jnp.mean(jnp.sum(x**2, axis=-1))

    def body(weights, key):
        weights, value, accepted = mixture_es_step(
            key, weights, samples, samples[0], score, sigma=0.1
        )
        return weights, (value, accepted)

    weights, (values, _) = jax.lax.scan(
        body, jnp.full(5, 0.2), jax.random.split(jax.random.key(5), 100)
    )
    assert float(jnp.sum(weights)) == pytest.approx(1.0, abs=1e-5)
    assert bool(jnp.all(weights > 0))
    assert float(weights[0]) > 0.8
    assert float(values[-1]) > float(values[0])


def _separated_components(key):
    """`[5, 300, 2]` samples: component k in a small cloud around (k, 0), and a score
    that prefers the samples near the origin."""
    offsets = jnp.stack([jnp.arange(5.0), jnp.zeros(5)], axis=1)[:, None]  # [5, 1, 2]
    samples = offsets + 0.1 * jax.random.normal(key, (5, 300, 2))

    def score(x, real):
        del real
        return -jnp.mean(jnp.sum(x**2, axis=-1))

    return samples, score


def test_mixture_es_rescores_the_incumbent_and_never_returns_a_worse_mixture():
    samples, score = _separated_components(jax.random.key(11))

    def body(weights, key):
        new, value, accepted = mixture_es_step(key, weights, samples, None, score, sigma=0.2)
        gumbel_key, _ = jax.random.split(key)  # the step's component noise, re-drawn here
        gumbel = jax.random.gumbel(gumbel_key, (300, 5))
        parent = score(mixture_sample(samples, weights, gumbel), None)
        rescored = score(mixture_sample(samples, new, gumbel), None)
        kept = jnp.all(new == weights)
        return new, (value, parent, rescored, accepted, kept)

    start = jnp.array([0.05, 0.1, 0.15, 0.3, 0.4])
    _, (value, parent, rescored, accepted, kept) = jax.jit(
        lambda keys: jax.lax.scan(body, start, keys)
    )(jax.random.split(jax.random.key(12), 30))
    assert bool(jnp.all(value >= parent))  # the incumbent re-scored on every step's draws
    np.testing.assert_allclose(value, rescored, rtol=1e-6)  # the score of what it returns
    assert bool(jnp.all(kept | accepted)) and bool(jnp.any(accepted) & jnp.any(~accepted))
    with pytest.raises(ValueError, match="gumbel needs shape"):
        mixture_es_step(
            jax.random.key(0), start, samples, None, score, sigma=0.2, gumbel=jnp.zeros((3, 5))
        )


def test_mixture_es_on_fixed_draws_improves_monotonically():
    samples, score = _separated_components(jax.random.key(13))
    gumbel = jax.random.gumbel(jax.random.key(14), (300, 5))

    def body(weights, key):
        weights, value, _ = mixture_es_step(
            key, weights, samples, None, score, sigma=0.1, gumbel=gumbel
        )
        return weights, value

    start = jnp.full(5, 0.2)
    weights, values = jax.lax.scan(body, start, jax.random.split(jax.random.key(15), 200))
    assert bool(jnp.all(jnp.diff(values) >= 0))  # never accepts a worse mixture
    assert float(values[-1]) > float(score(mixture_sample(samples, start, gumbel), None))
    assert float(weights[0]) > 0.5  # the component nearest the origin


def test_mode_score_counts_modes_and_quality_like_the_numpy_metric():
    from genjax.data.synthetic import MIXTURES, sample_mixture
    from genjax.metrics import mode_coverage

    mixture = MIXTURES["grid25"]
    x, _ = sample_mixture(mixture, 300, seed=0)
    x = np.concatenate([x[:150], x[150:] * 1.1])  # some samples off their modes
    expected = mode_coverage(x, mixture.centres, mixture.std)
    value = float(mode_score(mixture.centres, mixture.std)(jnp.asarray(x), None))
    assert value == pytest.approx(
        expected["modes_covered"] + expected["high_quality_fraction"], abs=1e-5
    )


def test_mode_score_with_draws_counts_the_expected_coverage_of_fresh_draws():
    from genjax.data.synthetic import MIXTURES

    mixture = MIXTURES["grid25"]
    centres = np.asarray(mixture.centres)
    between = (centres[0] + centres[1]) / 2  # more than 3σ from every centre
    x = np.concatenate([centres[[0, 0, 0, 1]], np.repeat(between[None], 6, axis=0)])  # [10, 2]
    score = mode_score(mixture.centres, mixture.std, draws=5)
    expected = (1 - 0.7**5) + (1 - 0.9**5) + 0.4  # p_0 = 0.3, p_1 = 0.1, 4 of 10 good
    assert float(score(jnp.asarray(x), None)) == pytest.approx(expected, rel=1e-5)
    # one sample at a mode: certain with 10 draws of these samples, not of fresh ones
    plain = mode_score(mixture.centres, mixture.std)
    assert float(plain(jnp.asarray(x), None)) == pytest.approx(2.4, rel=1e-6)
    with pytest.raises(ValueError, match="draws"):
        mode_score(mixture.centres, mixture.std, draws=0)


def test_jax_frechet_distance_matches_the_numpy_one_and_mmd_is_zero_on_itself():
    from genjax.metrics.fid import fid

    a = jax.random.normal(jax.random.key(6), (400, 3))
    b = 0.5 + 1.5 * jax.random.normal(jax.random.key(7), (300, 3))
    assert float(frechet_distance(a, b)) == pytest.approx(fid(np.asarray(a), np.asarray(b)), 1e-3)
    assert float(mmd_score()(a, a)) == pytest.approx(0.0, abs=1e-5)
    assert float(mmd_score()(a, b)) < -0.01


def test_adversary_slots_follow_the_own_probability():
    keys = jax.random.split(jax.random.key(8), 2000)
    slots = {
        p: jax.vmap(lambda k, p=p: coevolution_epoch.adversary_slot(k, p))(keys)
        for p in (0.0, 0.3, 1.0)
    }
    assert set(slots[1.0].tolist()) == {0}
    assert set(slots[0.0].tolist()) == {1, 2, 3, 4}
    assert abs(float(jnp.mean(slots[0.3] == 0)) - 0.3) < 0.04


# --- one compiled epoch for the whole grid --------------------------------------------------
def test_one_compiled_program_trains_the_whole_grid(monkeypatch):
    traces = {"cell": 0}
    original = coevolution_epoch.mixture_es_step

    def counting(*args, **kwargs):
        traces["cell"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(coevolution_epoch, "mixture_es_step", counting)
    co, state, data = coevolution_bench._problem(
        (2, 3), 1, hidden=(16,), steps_per_epoch=2, batch_size=16, mixture_samples=64, seed=0
    )

    # the fitness: every generator against every discriminator, as the objective's losses
    objective, real, key = co.objective, data[:64], jax.random.key(3)
    g_params, d_params = state.generators.params, state.discriminators.params
    g_losses, d_losses = coevolution_epoch.loss_matrices(objective, g_params, d_params, real, key)
    assert g_losses.shape == d_losses.shape == (6, 6)

    def pair(g, d):  # one generator against one discriminator
        g_loss, _ = objective.generator_loss(g, d, 64, key)  # the same latents
        fake_outputs = objective.discriminate(d, objective.sample(g, key, 64))
        real_outputs = objective.discriminate(d, real)
        return g_loss, jnp.mean(
            jax.vmap(objective.losses.discriminator)(real_outputs, fake_outputs)
        )

    every_pair = jax.jit(jax.vmap(jax.vmap(pair, (None, 0)), (0, None)))  # [G, D]
    expected_g, expected_d = every_pair(g_params, d_params)
    np.testing.assert_allclose(g_losses, expected_g, rtol=1e-5)
    np.testing.assert_allclose(d_losses, expected_d, rtol=1e-5)
    assert len(np.unique(np.round(np.asarray(g_losses), 6))) == 36  # no axis mixed up

    step = coevolution_epoch.make_epoch(co)
    final, history = loop.fit(
        step,
        state,
        data,
        jax.random.key(1),
        num_steps=3,
        batch_size=co.epoch_batch_size,
        steps_per_call=3,
        progress=False,
    )
    # 6 cells x 3 epochs, yet the per-cell function was traced a constant number of times
    # (fit traces a step twice: its metric shapes and the step): no Python loop over
    # cells or epochs
    assert traces["cell"] == 2
    assert int(final.step) == 3 and len(history) == 1
    assert final.mixture_weights.shape == (6, 5)
    np.testing.assert_allclose(jnp.sum(final.mixture_weights, axis=1), 1.0, rtol=1e-5)
    for before, after in zip(
        jax.tree.leaves(state.generators.params),
        jax.tree.leaves(final.generators.params),
        strict=True,
    ):
        assert after.shape == before.shape and bool(jnp.all(jnp.isfinite(after)))
        assert not np.allclose(after, before)  # every leaf trained
    assert int(jnp.max(final.generators.step)) >= 6  # each pair took 2 GAN steps per epoch
    rates = learning_rate(final.generators.opt_state)  # [6], mutated per cell
    assert rates.shape == (6,) and len(np.unique(np.asarray(rates))) > 1
    with pytest.raises(ValueError, match="epoch needs"):
        step(state, data[:10], jax.random.key(0))

    # the final mixture optimization: never below the evolved weights on its fixed draws
    tuned, start = optimize_mixture(
        co, final, jax.random.key(2), data[:256], generations=40, num_samples=256
    )
    assert start.shape == (6,) and bool(jnp.all(tuned.mixture_score >= start))
    assert not np.allclose(tuned.mixture_weights, final.mixture_weights)
    np.testing.assert_allclose(jnp.sum(tuned.mixture_weights, axis=1), 1.0, rtol=1e-5)


# --- one device versus eight, one process versus two ---------------------------------------
OPTIONS = json.dumps({"hidden": [16, 16]})


def _launch(module: str, num_devices: int, *arguments: str) -> subprocess.Popen:
    env = coevolution_bench.subprocess_env(num_devices)
    env["XLA_FLAGS"] += " --xla_backend_optimization_level=0"  # compile faster, all alike
    command = [sys.executable, "-m", module, "--grid", "4x4", "--options", OPTIONS, *arguments]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def grid_runs(tmp_path_factory):
    """The same 4×4 grid, 2 epochs: on 1 device, on 8 simulated devices, and on two
    processes with 2 devices each (jax.distributed over localhost, gloo collectives), all
    started at once. Returns `{name: (json lines printed, saved state leaves)}`."""
    path = tmp_path_factory.mktemp("grid_runs")
    port = _free_port()
    bench = "genjax.coevolution.bench"
    multihost = "genjax.coevolution.multihost"
    host = ["--coordinator", f"localhost:{port}", "--num-processes", "2"]
    processes = {
        "one": _launch(bench, 1, "--devices", "1", "--save", str(path / "one.npz")),
        "eight": _launch(bench, 8, "--devices", "8", "--save", str(path / "eight.npz")),
        "host0": _launch(
            multihost, 2, *host, "--process-id", "0", "--save", str(path / "hosts.npz")
        ),
        "host1": _launch(multihost, 2, *host, "--process-id", "1"),
    }
    lines = {}
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, f"{name}: {stderr.decode()[-2000:]}"
        lines[name] = [json.loads(line) for line in stdout.decode().splitlines() if line[:1] == "{"]
    leaves = {name: np.load(path / f"{name}.npz") for name in ("one", "eight", "hosts")}
    return lines, leaves


def _assert_same_state(a, b):
    assert len(a.files) == len(b.files) > 20
    for name in a.files:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_a_4x4_grid_on_one_device_and_on_eight_gives_the_same_result(grid_runs):
    lines, leaves = grid_runs
    assert lines["one"][0]["devices"] == 1 and lines["eight"][0]["devices"] == 8
    assert any("'pop'" in s for s in lines["eight"][0]["shardings"])  # really sharded
    _assert_same_state(leaves["one"], leaves["eight"])
    history_1, history_8 = lines["one"][1]["history"][-1], lines["eight"][1]["history"][-1]
    assert history_1.keys() == history_8.keys()
    for name in history_1:
        assert history_8[name] == pytest.approx(history_1[name], rel=1e-4, abs=1e-5), name


def test_two_processes_through_jax_distributed_give_the_same_result(grid_runs):
    lines, leaves = grid_runs
    for process in (0, 1):
        report = lines[f"host{process}"][-1]
        assert report["process"] == process and report["processes"] == 2
        assert report["devices"] == 4 and report["local_devices"] == 2
        assert report["d_loss"] == pytest.approx(lines["one"][1]["history"][-1]["d_loss"], 1e-4)
    _assert_same_state(leaves["one"], leaves["hosts"])
