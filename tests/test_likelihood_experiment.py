"""Smoke runs of experiments/likelihood.py: files, summary keys, sane numbers."""

import importlib.util
import json
import math
import os
import sys

import pytest
from test_stats import write_pima_csv

FIGURES = ("feature_fits.png", "mle_trace.png", "decision_boundary.png", "learning_curve.png")
SCORES = [
    f"{model}/{part}_{metric}"
    for model in ("generative", "logistic")
    for part in ("train", "test")
    for metric in ("accuracy", "log_loss")
]


@pytest.fixture(scope="module")
def likelihood():
    path = os.path.join(os.path.dirname(__file__), "..", "experiments", "likelihood.py")
    spec = importlib.util.spec_from_file_location("likelihood_experiment", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def check_outputs(workdir, summary):
    for name in (*FIGURES, "config.json", "metrics.jsonl", "summary.json"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0, name
    with open(os.path.join(workdir, "summary.json")) as f:
        assert json.load(f).keys() == summary.keys()
    for key in SCORES:
        assert math.isfinite(summary[key]), key
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})
    return rows


def test_breast_cancer_run(likelihood, tmp_path):
    config = likelihood.Config(
        workdir=str(tmp_path), steps=40, newton_steps=5, curve_sizes=(20, 100), curve_seeds=2
    )
    summary = likelihood.run(config)
    rows = check_outputs(tmp_path, summary)
    assert summary["n_train"] + summary["n_test"] == 569 and summary["n_features"] == 30
    assert summary["logistic/test_accuracy"] > 0.93
    assert summary["generative/test_accuracy"] > 0.85
    # zeros in the concavity features rule the Gamma out there; radius is positive
    assert summary["feature/mean concavity/family"] == "gaussian"
    assert summary["feature/mean concavity/gamma_shape"] is None
    assert summary["feature/mean radius/family"] == "gamma"
    assert summary["feature/mean radius/gamma_shape"] > 1
    assert summary["feature/mean radius/class0_gamma_shape"] > 0
    assert summary["learning_curve/train_size"] == [20, 100]
    assert len(summary["learning_curve/logistic_accuracy_mean"]) == 2
    # the logged trace ends at the fitted mean log-likelihood
    last = rows[-1]
    assert last["step"] == 40 + 5
    assert last["gamma/mean radius"] == pytest.approx(
        summary["feature/mean radius/gamma_mean_log_likelihood"], abs=1e-5
    )


def test_pima_run_leaves_missing_values_out(likelihood, tmp_path):
    csv_path = tmp_path / "diabetes.csv"
    write_pima_csv(csv_path, rows=120, seed=1)
    config = likelihood.Config(
        workdir=str(tmp_path / "run"),
        dataset="pima",
        data_path=str(csv_path),
        steps=40,
        newton_steps=5,
        curve_sizes=(20, 90),
        curve_seeds=2,
        boundary_features=("Glucose", "BMI"),
    )
    summary = likelihood.run(config)
    check_outputs(tmp_path / "run", summary)
    assert summary["dataset"] == "pima" and summary["n_train"] == 90
    assert summary["feature/Pregnancies/family"] == "gaussian"  # true zeros
    assert summary["feature/Insulin/family"] == "gamma"  # zeros there are missing
    assert summary["feature/Insulin/missing_train"] > 20
    for feature in ("Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"):
        for key in ("gamma_shape", "gamma_rate", "gamma_mean_log_likelihood"):
            assert math.isfinite(summary[f"feature/{feature}/{key}"]), (feature, key)
    assert summary["boundary/features"] == ["Glucose", "BMI"]
