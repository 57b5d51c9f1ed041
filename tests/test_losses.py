import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from genjax.losses import bernoulli_nll, reconstruction_loss, squared_error


def test_bernoulli_nll_matches_closed_form():
    logits = jnp.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    x = jnp.array([0.0, 1.0, 0.3, 0.9, 1.0])
    p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
    expected = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    np.testing.assert_allclose(bernoulli_nll(logits, x), expected, rtol=1e-6)


def test_bernoulli_nll_is_stable_for_extreme_logits():
    # log σ(100) underflows as log(1 - 1); the stable form gives ~0 and 100 exactly.
    np.testing.assert_allclose(bernoulli_nll(jnp.array([100.0]), jnp.array([1.0])), 0.0, atol=1e-6)
    np.testing.assert_allclose(bernoulli_nll(jnp.array([-100.0]), jnp.array([1.0])), 100.0)
    grads = jax.grad(bernoulli_nll)(jnp.array([-100.0, 100.0]), jnp.array([1.0, 0.0]))
    assert np.isfinite(grads).all()


def test_bernoulli_nll_gradient_is_sigmoid_minus_target():
    logits = jnp.linspace(-4, 4, 9)
    x = jnp.linspace(0, 1, 9)
    np.testing.assert_allclose(
        jax.grad(bernoulli_nll)(logits, x), jax.nn.sigmoid(logits) - x, atol=1e-6
    )
    np.testing.assert_allclose(jax.grad(bernoulli_nll, argnums=1)(logits, x), -logits)
    # l = 0 is in the grid: the hand-written derivative must hold there to second order
    check_grads(bernoulli_nll, (logits, x), order=2, modes=["fwd", "rev"], eps=1e-2)


def test_squared_error_is_half_sum_of_squares_with_gradient_residual():
    x_hat = jnp.array([[1.0, 2.0], [3.0, -1.0]])
    x = jnp.array([[0.0, 2.5], [1.0, 1.0]])
    assert squared_error(x_hat, x) == pytest.approx(0.5 * (1 + 0.25 + 4 + 4))
    np.testing.assert_allclose(jax.grad(squared_error)(x_hat, x), x_hat - x)
    check_grads(lambda a: squared_error(a, x), (x_hat,), order=2, modes=["rev"])


def test_reconstruction_loss_by_name():
    assert reconstruction_loss("bernoulli") is bernoulli_nll
    assert reconstruction_loss("gaussian") is squared_error
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        reconstruction_loss("poisson")
