import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.corruption import dropout_noise, gaussian_noise, make_corruption


def test_gaussian_noise_statistics_and_determinism():
    key = jax.random.key(0)
    x = jnp.full((200_000,), 0.5)
    noisy = gaussian_noise(key, x, stddev=0.3)
    noise = np.asarray(noisy - x)
    assert abs(noise.mean()) < 0.003
    assert noise.std() == pytest.approx(0.3, rel=0.01)
    np.testing.assert_array_equal(noisy, gaussian_noise(key, x, stddev=0.3))
    assert not np.array_equal(noisy, gaussian_noise(jax.random.key(1), x, stddev=0.3))


def test_dropout_noise_zeroes_at_rate_and_preserves_mean():
    x = jnp.full((200_000,), 0.8)
    noisy = np.asarray(dropout_noise(jax.random.key(0), x, rate=0.25))
    assert (noisy == 0).mean() == pytest.approx(0.25, abs=0.005)
    np.testing.assert_allclose(noisy[noisy != 0], 0.8 / 0.75, rtol=1e-6)
    assert noisy.mean() == pytest.approx(0.8, rel=0.01)


@pytest.mark.parametrize(
    ("name", "level", "message"),
    [
        ("dropout", 1.0, r"dropout rate must be in \[0, 1\)"),
        ("dropout", -0.1, r"dropout rate must be in \[0, 1\)"),
        ("gaussian", -1.0, "noise stddev must be >= 0"),
        ("salt", 0.1, "unknown noise 'salt'; choose from dropout, gaussian"),
    ],
)
def test_make_corruption_rejects_bad_settings(name, level, message):
    with pytest.raises(ValueError, match=message):
        make_corruption(name, level)
