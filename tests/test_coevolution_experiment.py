"""End-to-end runs of experiments/coevolution.py on tiny grids."""

import json
import sys
from pathlib import Path

import pytest

from genjax.experiment import to_jsonable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import coevolution  # noqa: E402

FIGURES = ["grid_samples.png", "mixture_weights.png", "quality_over_time.png"]
TINY = dict(
    progress=False,
    grid="2x2",
    steps_per_epoch=10,
    steps_per_call=20,
    checkpoint_every=20,
    batch_size=32,
    hidden=(32, 32),
    eval_samples=400,
    mixture_samples=100,
    fitness_samples=64,
    final_es_generations=0,  # the final ES: test_coevolution.py (compiled-grid test)
)


def config(tmp_path, **overrides):
    return coevolution.Config(workdir=str(tmp_path), **{**TINY, **overrides})


def test_grid25_run_with_baseline_writes_the_contract_and_resumes(tmp_path):
    summary = coevolution.run(config(tmp_path, steps=20, baseline=True))
    for name in ["config.json", "metrics.jsonl", "summary.json", *FIGURES]:
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "summary.json").read_text()) == to_jsonable(
        summary
    )  # NaN (a mode KL) as null
    assert summary["epochs"] == 2 and summary["gan_steps_per_cell"] == 20
    assert "evolved_modes_covered" not in summary  # no final ES, no "before" to report
    for prefix in ("", "single_", "baseline_"):
        assert 0 <= summary[prefix + "modes_covered"] <= 25
        assert 0 <= summary[prefix + "high_quality_fraction"] <= 1
    assert len(summary["modes_covered_per_cell"]) == 4
    assert len(summary["baseline_modes_covered_per_pair"]) == 4
    best = summary["best_cell"]
    assert summary["modes_covered"] == summary["modes_covered_per_cell"][best]
    assert summary["modes_covered"] == max(summary["modes_covered_per_cell"])
    assert sum(summary["mixture_weights_best_cell"]) == pytest.approx(1.0, abs=1e-5)
    # mutation explores learning rates from --learning-rate upwards (the default floor)
    for name in ("final_g_learning_rates", "final_d_learning_rates"):
        assert len(summary[name]) == 4 and min(summary[name]) >= 1e-3 * (1 - 1e-6)
    assert (tmp_path / "baseline" / "checkpoints" / "20").is_dir()  # 20 GAN steps per pair
    # a re-run with more steps resumes at epoch 2 and logs epochs 3-4 only
    resumed = coevolution.run(config(tmp_path, steps=40, baseline=True))
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert {"mixture_score_best", "g_learning_rate", "d_accuracy"} <= rows[-1].keys()
    assert resumed["epochs"] == 4 and (tmp_path / "checkpoints" / "4").is_dir()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(grid="3"), "ROWSxCOLUMNS"),
        (dict(grid="3x3", devices=2), "do not split"),
        (dict(steps=5), "at least --steps-per-epoch"),
        (dict(skip_nonfinite=True), "not supported"),
        (dict(final_es_generations=-1), "final-es-generations"),
        (dict(fitness_samples=0), "fitness-samples"),
    ],
)
def test_bad_flags_are_refused(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, **overrides)
