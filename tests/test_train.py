import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from genjax.train import (
    DivergenceError,
    TrainState,
    fit,
    init_population,
    make_train_step,
    member,
    sample_batch,
)
from genjax.train.loop import _cached_chunk

TX = optax.adam(0.05)


@pytest.fixture(scope="module")
def regression():
    x = jax.random.normal(jax.random.key(0), (512, 4))
    y = x @ jnp.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * jax.random.normal(jax.random.key(1), (512,))
    return x, y


def noisy_mse(params, batch, key, *, scale=1.0):
    """Mean squared error plus key-dependent jitter, so keys matter for determinism tests."""
    x, y = batch
    w = params + 1e-3 * jax.random.normal(key, params.shape)
    loss = scale * jnp.mean((x @ w - y) ** 2)
    return loss, {"mse": loss / scale}


def new_state():
    return TrainState.create(jnp.zeros(4), TX)


def run(regression, num_steps, state=None, key=0, **kw):
    step = make_train_step(noisy_mse, TX)
    return fit(
        step,
        new_state() if state is None else state,
        regression,
        jax.random.key(key),
        num_steps=num_steps,
        batch_size=32,
        progress=False,
        **kw,
    )


def test_state_is_a_pytree_with_step_counter():
    state = new_state()
    assert state.step.dtype == jnp.int32 and int(state.step) == 0
    assert len(jax.tree.leaves(state)) == 1 + 1 + len(jax.tree.leaves(TX.init(jnp.zeros(4))))


def test_train_step_matches_a_hand_written_adam_step(regression):
    state = new_state()
    key = jax.random.key(3)
    new, metrics = make_train_step(noisy_mse, TX)(state, regression, key)
    grads = jax.grad(lambda p: noisy_mse(p, regression, key)[0])(state.params)
    updates, _ = TX.update(grads, TX.init(state.params), state.params)
    np.testing.assert_allclose(new.params, state.params + updates, rtol=1e-6)
    assert int(new.step) == 1
    assert set(metrics) == {"loss", "mse", "grad_norm"}
    np.testing.assert_allclose(metrics["grad_norm"], jnp.linalg.norm(grads), rtol=1e-5)


def test_fit_learns_and_logs_one_row_per_call(regression):
    state, history = run(regression, 300, steps_per_call=50)
    assert int(state.step) == 300
    assert [row["step"] for row in history] == list(range(50, 301, 50))
    assert history[-1]["mse"] < 0.05 < history[0]["mse"]
    np.testing.assert_allclose(state.params, [1.0, -2.0, 0.5, 3.0], atol=0.05)


def test_fit_is_deterministic_and_resumes_bit_identically(regression):
    straight, _ = run(regression, 250, steps_per_call=100)
    again, _ = run(regression, 250, steps_per_call=100)
    np.testing.assert_array_equal(straight.params, again.params)
    # stopped at 130, resumed to 250 with another call size: the same steps, batches, keys
    half, _ = run(regression, 130, steps_per_call=100)
    resumed, history = run(regression, 250, state=half, steps_per_call=40)
    assert history[0]["step"] == 170 and history[-1]["step"] == 250
    np.testing.assert_array_equal(straight.params, resumed.params)
    other_seed, _ = run(regression, 250, key=1, steps_per_call=100)
    assert not np.array_equal(straight.params, other_seed.params)


def test_log_every_splits_a_call_into_rows(regression):
    _, history = run(regression, 100, steps_per_call=50, log_every=10)
    assert [row["step"] for row in history] == list(range(10, 101, 10))
    with pytest.raises(ValueError, match="log_every=30 must divide steps_per_call=50"):
        run(regression, 100, steps_per_call=50, log_every=30)


def test_fit_compiles_once_for_any_number_of_calls(regression):
    traces = []

    def counting_loss(params, batch, key):
        traces.append(1)  # runs only while tracing
        return noisy_mse(params, batch, key)

    step = make_train_step(counting_loss, TX)
    fit(
        step,
        new_state(),
        regression,
        jax.random.key(0),
        num_steps=1000,
        batch_size=32,
        steps_per_call=100,
        progress=False,
    )
    assert len(traces) <= 2  # the loop body traced once (plus eval_shape of the metrics)
    traces.clear()
    fit(
        step,
        new_state(),
        regression,
        jax.random.key(0),
        num_steps=1050,
        batch_size=32,
        steps_per_call=100,
        progress=False,
    )  # a partial last call: no new program
    assert traces == []
    restored = jax.device_put(new_state(), jax.devices()[0])  # committed, as orbax restores
    fit(step, restored, regression, jax.random.key(0), num_steps=100, batch_size=32, progress=False)
    assert traces == []
    assert _cached_chunk(step, 32, 100, False, None)._cache_size() == 1  # one compiled program


def test_grad_norm_metric_is_optional(regression):
    state = new_state()
    with_norm = make_train_step(noisy_mse, TX)(state, regression, jax.random.key(0))
    without = make_train_step(noisy_mse, TX, grad_norm=False)(state, regression, jax.random.key(0))
    assert "grad_norm" in with_norm[1] and "grad_norm" not in without[1]
    assert with_norm[1]["grad_norm"] > 0
    chex.assert_trees_all_close(with_norm[0], without[0])


def test_sample_batch_draws_matching_rows():
    x = jnp.arange(100.0)[:, None] * jnp.ones((1, 3))
    y = jnp.arange(100)
    bx, by = sample_batch(jax.random.key(0), (x, y), 16)
    assert bx.shape == (16, 3) and by.shape == (16,)
    np.testing.assert_array_equal(bx[:, 0], by.astype(jnp.float32))


def test_population_members_match_single_runs(regression):
    keys = jax.random.split(jax.random.key(9), 3)
    init = lambda k: 0.1 * jax.random.normal(k, (4,))  # noqa: E731
    pop = init_population(init, TX, keys, scale=[1.0, 2.0, 0.5])
    assert pop.step.shape == (3,) and pop.params.shape == (3, 4)
    step = make_train_step(noisy_mse, TX)
    train_keys = jax.random.split(jax.random.key(10), 3)
    pop, history = fit(
        step,
        pop,
        regression,
        train_keys,
        num_steps=200,
        batch_size=32,
        population=True,
        progress=False,
    )
    assert len(history[-1]["loss"]) == 3
    for i, scale in enumerate([1.0, 2.0, 0.5]):
        single = TrainState.create(init(keys[i]), TX, scale=scale)
        single, _ = fit(
            step, single, regression, train_keys[i], num_steps=200, batch_size=32, progress=False
        )
        np.testing.assert_allclose(member(pop, i).params, single.params, rtol=1e-5, atol=1e-6)


def test_divergence_names_the_step_and_quantity(regression):
    def exploding(params, batch, key):
        loss, metrics = noisy_mse(params, batch, key)
        return loss * jnp.exp(100.0 * params.sum()), metrics

    tx = optax.sgd(10.0)
    step = make_train_step(exploding, tx)
    with pytest.raises(DivergenceError, match=r"(loss|grad_norm) became non-finite .* at step \d+"):
        fit(
            step,
            TrainState.create(jnp.ones(4), tx),
            regression,
            jax.random.key(0),
            num_steps=100,
            batch_size=32,
            steps_per_call=10,
            progress=False,
        )


def test_fit_rejects_nonsense_sizes(regression):
    with pytest.raises(ValueError, match="must be >= 1"):
        run(regression, 0)
