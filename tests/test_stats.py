"""Maximum likelihood, the two classifiers, and the Pima loader (no network)."""

import csv

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import sklearn.datasets
from sklearn.linear_model import LogisticRegression

import genjax.data
from genjax.data import tabular
from genjax.stats import (
    fit_family,
    fit_mle,
    gaussian_log_density,
    generative,
    initial_params,
    logistic,
)

# (shape α, rate β): below 1, moderate, large shape with a small rate, large rate. All Gamma
# tests fit tables of the same shape with the same steps, so they share one compilation.
GAMMA_PARAMS = [(0.6, 3.0), (2.5, 0.7), (30.0, 0.05), (1.3, 1e3)] * 2
ROWS, STEPS = 4000, 150


def gamma_table(params, seed: int) -> np.ndarray:
    """`[ROWS, len(params)]` float32, column j drawn from Gamma(params[j])."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.gamma(a, 1.0 / b, size=ROWS) for a, b in params], 1).astype(np.float32)


def scipy_gamma_mle(values: np.ndarray) -> tuple[float, float]:
    """(shape, rate) from `scipy.stats.gamma.fit(values, floc=0)`."""
    shape, loc, scale = scipy.stats.gamma.fit(values.astype(np.float64), floc=0)
    assert loc == 0
    return shape, 1.0 / scale


def test_gamma_mle_agrees_with_scipy():
    x = gamma_table(GAMMA_PARAMS, seed=0)
    fit = fit_family("gamma", x, steps=STEPS)  # float32, method-of-moments start
    for j in range(x.shape[1]):
        shape, rate = scipy_gamma_mle(x[:, j])
        np.testing.assert_allclose(fit.params["shape"][j], shape, rtol=1e-3)
        np.testing.assert_allclose(fit.params["rate"][j], rate, rtol=1e-3)
        # the reported value is the mean log-likelihood at the optimum
        expected = np.mean(scipy.stats.gamma.logpdf(x[:, j], shape, scale=1 / rate))
        np.testing.assert_allclose(fit.mean_log_likelihood[j], expected, rtol=1e-5, atol=1e-5)
    trace = np.asarray(fit.trace)
    assert trace.shape == (STEPS + 10 + 1, x.shape[1])
    np.testing.assert_allclose(trace[-1], fit.mean_log_likelihood)


def test_gamma_mle_recovers_true_parameters_as_n_grows():
    truth = np.array([2.5, 0.7])
    x = gamma_table([tuple(truth)] * len(GAMMA_PARAMS), seed=1)  # independent samples
    errors = []
    for n in (50, ROWS):  # the first n rows of every column
        mask = np.arange(ROWS)[:, None] < n
        fit = fit_family("gamma", x, mask=np.broadcast_to(mask, x.shape), steps=STEPS)
        estimate = np.stack([fit.params["shape"], fit.params["rate"]], axis=1)  # [F, 2]
        errors.append(np.mean(np.abs(estimate / truth - 1.0)))
    small, large = errors
    assert large < 0.04  # the standard error of the shape is ~2 % at n = 4000
    assert small > 3 * large  # the error shrinks like 1/√n, here by a factor of 9


def test_gamma_fit_from_a_poor_start_still_converges():
    x = gamma_table(GAMMA_PARAMS, seed=2)
    good = fit_family("gamma", x, steps=STEPS)
    exponential = {"shape": np.ones(x.shape[1]), "rate": 1.0 / x.mean(axis=0)}
    poor = fit_family("gamma", x, init=exponential, steps=STEPS)
    np.testing.assert_allclose(poor.params["shape"], good.params["shape"], rtol=1e-3)
    np.testing.assert_allclose(poor.params["rate"], good.params["rate"], rtol=1e-3)
    assert (poor.trace[0] < poor.trace[-1] - 1e-3).all()  # it had to climb


def test_missing_zeros_are_left_out_of_a_gamma_fit():
    x = gamma_table(GAMMA_PARAMS, seed=3)
    holes = np.random.default_rng(3).random(x.shape) < 0.3
    with_zeros = np.where(holes, 0.0, x).astype(np.float32)  # log 0 = −∞ if it were used
    fit = fit_family("gamma", with_zeros, mask=with_zeros != 0, steps=STEPS)
    assert np.isfinite(fit.mean_log_likelihood).all()
    for j in range(x.shape[1]):
        shape, rate = scipy_gamma_mle(x[~holes[:, j], j])
        np.testing.assert_allclose(fit.params["shape"][j], shape, rtol=1e-3)
        np.testing.assert_allclose(fit.params["rate"][j], rate, rtol=1e-3)
        assert fit.count[j] == (~holes[:, j]).sum()


def test_gaussian_mle_equals_closed_form_from_a_bad_start():
    rng = np.random.default_rng(2)
    x = np.stack([rng.normal(5.0, 3.0, 500), rng.normal(-2.0, 0.1, 500)], 1).astype(np.float32)
    mask = rng.random(x.shape) > 0.2  # 20 % missing values, filled with garbage
    x_with_gaps = np.where(mask, x, 1e6).astype(np.float32)
    init = {"mean": np.zeros(2), "std": np.ones(2)}
    fit = fit_mle(gaussian_log_density, x_with_gaps, init, mask=mask, positive=("std",), steps=300)
    for j in range(2):
        observed = x[mask[:, j], j].astype(np.float64)
        np.testing.assert_allclose(fit.params["mean"][j], observed.mean(), rtol=1e-5)
        np.testing.assert_allclose(fit.params["std"][j], observed.std(), rtol=1e-4)
        assert fit.count[j] == mask[:, j].sum()
    # the closed form is also the family's own start
    start = initial_params("gaussian", x_with_gaps, mask)
    np.testing.assert_allclose(start["mean"], fit.params["mean"], rtol=1e-5)


def test_bernoulli_mle_is_the_frequency():
    x = (np.random.default_rng(3).random((400, 2)) < [0.2, 0.9]).astype(np.float32)
    fit = fit_family("bernoulli", x, init={"logit": np.zeros(2)}, steps=50)
    p = 1.0 / (1.0 + np.exp(-np.asarray(fit.params["logit"])))
    np.testing.assert_allclose(p, x.mean(axis=0), rtol=1e-4)


def hand_params() -> dict:
    """Feature 0 Gamma, feature 1 Gaussian; priors (0.3, 0.7)."""
    return {
        "log_prior": jnp.log(jnp.array([0.3, 0.7])),
        "feature_index": {"gamma": jnp.array([0]), "gaussian": jnp.array([1])},
        "densities": {
            "gamma": {"shape": jnp.array([[2.0], [5.0]]), "rate": jnp.array([[1.0], [2.0]])},
            "gaussian": {"mean": jnp.array([[0.0], [1.0]]), "std": jnp.array([[1.0], [2.0]])},
        },
    }


def test_generative_posterior_is_bayes_rule():
    x = np.array([[1.5, 0.3], [4.0, -1.0], [0.2, 2.5]], np.float32)
    joint = np.stack(
        [
            prior
            * scipy.stats.gamma.pdf(x[:, 0], shape, scale=1 / rate)
            * scipy.stats.norm.pdf(x[:, 1], mean, std)
            for prior, shape, rate, mean, std in [(0.3, 2, 1, 0, 1), (0.7, 5, 2, 1, 2)]
        ],
        axis=1,
    )  # [N, 2]
    proba = generative.predict_proba(hand_params(), x)
    np.testing.assert_allclose(proba, joint / joint.sum(1, keepdims=True), rtol=1e-5)

    # A missing feature is integrated out: only the prior and the Gaussian remain.
    mask = np.array([[False, True]] * 3)
    only_gaussian = np.stack(
        [
            prior * scipy.stats.norm.pdf(x[:, 1], mean, std)
            for prior, mean, std in [(0.3, 0, 1), (0.7, 1, 2)]
        ],
        axis=1,
    )
    proba = generative.predict_proba(hand_params(), x, mask)
    np.testing.assert_allclose(
        proba, only_gaussian / only_gaussian.sum(1, keepdims=True), rtol=1e-5
    )


def test_generative_fit_is_per_class_mle_and_class_frequencies():
    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.4).astype(np.int32)
    x = np.stack(
        [rng.gamma(np.where(y == 1, 6.0, 2.0), 1.0), rng.normal(np.where(y == 1, 3.0, 0.0), 1.0)],
        axis=1,
    ).astype(np.float32)
    params = generative.fit(x, y, families=("gamma", "gaussian"), num_classes=2, steps=100)
    np.testing.assert_allclose(np.exp(params["log_prior"]), [1 - y.mean(), y.mean()], rtol=1e-5)
    for c in (0, 1):
        shape, rate = scipy_gamma_mle(x[y == c, 0])
        gamma = params["densities"]["gamma"]
        np.testing.assert_allclose(gamma["shape"][c, 0], shape, rtol=1e-3)
        np.testing.assert_allclose(gamma["rate"][c, 0], rate, rtol=1e-3)
        values, gaussian = x[y == c, 1], params["densities"]["gaussian"]
        np.testing.assert_allclose(gaussian["mean"][c, 0], values.mean(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gaussian["std"][c, 0], values.std(), rtol=1e-4)
    accuracy = (np.argmax(generative.predict_proba(params, x), 1) == y).mean()
    assert accuracy > 0.85


def test_logistic_regression_matches_scikit_learn():
    bunch = sklearn.datasets.load_breast_cancer()
    x, y = bunch.data[:, :10].astype(np.float32), bunch.target
    x64 = x.astype(np.float64)  # scikit-learn keeps float32 inputs in float32
    standardized = (x64 - x64.mean(0)) / x64.std(0)  # what `fit` does inside
    subset = np.random.default_rng(6).random(len(y)) < 0.5  # also as 0/1 sample weights
    for c, weight in ((0.1, None), (1.0, None), (10.0, None), (1.0, subset)):
        sample_weight = np.ones(len(y)) if weight is None else weight.astype(np.float64)
        params = logistic.fit(x, y, inverse_regularization=c, sample_weight=sample_weight)
        reference = LogisticRegression(C=c, tol=1e-10, max_iter=10_000)
        if weight is None:
            reference.fit(standardized, y)
            np.testing.assert_allclose(params["center"], x.mean(0), rtol=1e-5)
            np.testing.assert_allclose(params["scale"], x.std(0), rtol=1e-4)
        else:  # standardized with the subset's statistics
            chosen = x64[weight]
            reference.fit((x64 - chosen.mean(0)) / chosen.std(0), y, sample_weight=sample_weight)
        np.testing.assert_allclose(params["weights"], reference.coef_[0], rtol=1e-4, atol=5e-5)
        np.testing.assert_allclose(params["bias"], reference.intercept_[0], rtol=1e-4, atol=5e-5)
        z = np.asarray(logistic.standardize(params, x), np.float64)
        np.testing.assert_allclose(
            logistic.predict_proba(params, x), reference.predict_proba(z), atol=1e-4
        )


def test_logistic_standardizes_observed_values_and_ignores_missing_features():
    bunch = sklearn.datasets.load_breast_cancer()
    x, y = bunch.data[:, :10].astype(np.float32), bunch.target  # shapes as above: no recompile
    mask = np.ones(x.shape, bool)
    mask[:, 2] = False  # never observed
    mask[:100, 0] = False  # partly observed
    params = logistic.fit(x, y, mask=mask)
    np.testing.assert_allclose(params["center"][0], x[100:, 0].mean(), rtol=1e-5)
    np.testing.assert_allclose(params["scale"][0], x[100:, 0].std(), rtol=1e-4)
    assert abs(float(params["weights"][2])) < 1e-6  # no data: the penalty keeps it at 0
    # predictions impute the training mean: a missing value counts as z = 0
    filled = x.copy()
    filled[:100, 0] = params["center"][0]
    np.testing.assert_allclose(
        logistic.predict_proba(params, x, mask),
        logistic.predict_proba(params, filled, np.ones(x.shape, bool) & (np.arange(10) != 2)),
        atol=1e-6,
    )


# --- Pima ---------------------------------------------------------------------------------
def write_pima_csv(path, rows: int = 40, seed: int = 0) -> np.ndarray:
    """A small table in Pima's format, with zeros meaning missing in the five columns."""
    rng = np.random.default_rng(seed)
    table = np.column_stack(
        [
            rng.poisson(3, rows),
            rng.normal(120, 30, rows).round(),
            rng.normal(70, 12, rows).round(),
            rng.normal(29, 10, rows).round().clip(5),
            rng.gamma(2, 60, rows).round() + 1,
            rng.normal(32, 7, rows).round(1),
            rng.gamma(2, 0.25, rows).round(3) + 0.08,
            rng.integers(21, 70, rows),
            rng.random(rows) < 0.35,
        ]
    ).astype(float)
    for column, share in ((1, 0.05), (2, 0.1), (3, 0.3), (4, 0.5), (5, 0.05)):
        table[rng.random(rows) < share, column] = 0.0
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*tabular.PIMA_FEATURES, tabular.PIMA_LABEL])
        writer.writerows(table.tolist())
    return table


def test_pima_loader_reads_csv_and_marks_missing_zeros(tmp_path):
    table = write_pima_csv(tmp_path / "diabetes.csv")
    ds = genjax.data.load("pima", data_path=str(tmp_path))  # the directory works too
    assert ds.feature_names == tabular.PIMA_FEATURES
    assert ds.x_train.shape == (30, 8) and ds.x_test.shape == (10, 8)
    assert ds.x_train.dtype == np.float32 and ds.num_classes == 2
    x = np.concatenate([ds.x_train, ds.x_test])
    np.testing.assert_allclose(np.sort(x[:, 4]), np.sort(table[:, 4]))
    observed = tabular.observed_mask(ds, x)
    assert observed[:, [0, 6, 7]].all()  # a zero count of pregnancies is a measurement
    assert (observed[:, 1:6] == (x[:, 1:6] != 0)).all()
    assert (~observed[:, 4]).sum() == (table[:, 4] == 0).sum() > 0


def test_pima_without_csv_or_network_says_how_to_provide_it(tmp_path, monkeypatch):
    with pytest.raises(genjax.data.DatasetUnavailableError, match="--data-path"):
        genjax.data.load("pima", data_path=str(tmp_path / "absent.csv"))

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(genjax.data.DatasetUnavailableError, match="--data-path"):
        genjax.data.load("pima")


def test_pima_csv_with_wrong_header_is_rejected(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        genjax.data.load("pima", data_path=str(tmp_path / "bad.csv"))
