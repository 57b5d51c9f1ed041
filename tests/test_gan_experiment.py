"""End-to-end runs of experiments/gan.py on the Gaussian mixtures and the embedded digits."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import gan  # noqa: E402

FIGURES = ["samples.png", "d_accuracy.png", "losses.png"]


def config(tmp_path, **overrides):
    fields = dict(
        workdir=str(tmp_path),
        steps=200,
        steps_per_call=50,
        checkpoint_every=100,
        batch_size=64,
        hidden=(32, 32),
        eval_samples=500,
        progress=False,
    )
    return gan.Config(**{**fields, **overrides})


def rows(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("loss", ["least_squares"])  # every loss's step: test_gan.py
def test_run_writes_the_contract_files_on_grid25(tmp_path, loss):
    summary = gan.run(config(tmp_path, loss=loss, steps=100, d_steps=2))
    for name in ["config.json", "metrics.jsonl", "summary.json", *FIGURES]:
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["num_modes"] == 25 and 0 <= summary["modes_covered"] <= 25
    assert 0 <= summary["high_quality_fraction"] <= 1 and 0 <= summary["final_d_accuracy"] <= 1
    row = rows(tmp_path)[-1]
    assert {"d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake", "d_grad_norm"} <= set(row)


def test_ring8_run_learns_the_modes_and_snapshots_training(tmp_path):
    summary = gan.run(
        config(tmp_path, dataset="ring8", steps=1500, hidden=(64, 64), checkpoint_every=500)
    )
    # untrained, every sample lies near the origin, 2 away from the ring: no mode covered
    assert summary["modes_covered"] >= 6 and summary["high_quality_fraction"] > 0.02
    assert summary["data_high_quality_fraction"] > 0.98
    snapshots = sorted(p.name for p in (tmp_path / "snapshots").iterdir())
    assert snapshots == [f"step_{s:07d}.npy" for s in (0, 500, 1000, 1500)]
    assert np.load(tmp_path / "snapshots" / snapshots[-1]).shape == (1, gan.SNAPSHOT_SAMPLES, 2)
    assert [r["step"] for r in rows(tmp_path)] == list(range(50, 1501, 50))


def test_seeds_train_as_one_population_with_per_seed_results(tmp_path):
    summary = gan.run(config(tmp_path, seeds=2, steps=100))
    assert len(summary["modes_covered_per_seed"]) == 2
    assert summary["modes_covered"] == np.mean(summary["modes_covered_per_seed"])
    assert np.shape(rows(tmp_path)[-1]["d_loss"]) == (2,)
    assert np.load(tmp_path / "snapshots" / "step_0000100.npy").shape[0] == 2


def test_rerun_resumes_and_matches_a_straight_run(tmp_path):
    fields = dict(steps=200, lr_decay=False)
    straight = gan.run(config(tmp_path / "straight", **fields))
    gan.run(config(tmp_path / "resumed", **{**fields, "steps": 100}))
    resumed = gan.run(config(tmp_path / "resumed", **fields))
    assert [r["step"] for r in rows(tmp_path / "resumed")] == [50, 100, 150, 200]
    for key in ("modes_covered", "high_quality_fraction", "final_d_loss", "final_g_loss"):
        assert resumed[key] == straight[key]


def test_stop_at_equilibrium_stops_once_the_monitor_fires(tmp_path):
    summary = gan.run(
        config(
            tmp_path,
            steps=1000,
            stop_at_equilibrium=True,
            monitor_tolerance=0.49,  # any accuracy in (0.01, 0.99) counts as equilibrium
            monitor_window=2,
            monitor_patience=1,
        )
    )
    assert summary["stopped_early"] and summary["converged_at_step"] == 100
    assert summary["steps"] == 100  # the first checkpoint after the monitor fired


def test_digits_gan_beats_the_untrained_generator_on_fid(tmp_path):
    summary = gan.run(
        config(
            tmp_path,
            dataset="digits",
            steps=800,
            steps_per_call=100,
            checkpoint_every=800,
            hidden=(128, 128),
            lr_decay=False,
            classifier_steps=300,
        )
    )
    assert summary["architecture"] == "mlp" and summary["classifier_test_accuracy"] > 0.85
    assert summary["fid"] < summary["fid_untrained"] / 2
    assert summary["precision"] > summary["precision_untrained"]
    for key in ("recall", "recall_untrained", "precision_test_set", "recall_test_set"):
        assert 0 <= summary[key] <= 1
    assert summary["fid_test_set"] < summary["fid"]
    assert (tmp_path / "samples_over_training.png").exists()
    assert (tmp_path / "feature_classifier").is_dir()


def test_cli_help_and_bad_flags():
    script = str(ROOT / "experiments" / "gan.py")
    help_text = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--workdir", "--loss", "--dataset", "--d-steps", "--seeds", "--steps", "--seed"):
        assert flag in help_text
    bad = subprocess.run(
        [sys.executable, script, "--loss", "vanilla"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "vanilla" in bad.stderr
    with pytest.raises(ValueError, match="--d-steps must be >= 1"):
        gan.Config(d_steps=0)
