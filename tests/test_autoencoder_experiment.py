"""End-to-end runs of experiments/autoencoder.py on the embedded digits."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import autoencoder  # noqa: E402

FIGURES = ["reconstructions.png", "loss.png", "latent_pca.png", "latent_tsne.png"]


def config(tmp_path, **overrides):
    fields = dict(workdir=str(tmp_path), steps=300, progress=False, embed_examples=100)
    return autoencoder.Config(**{**fields, **overrides})


def assert_learned_and_wrote_the_contract(tmp_path, summary):
    """Every output of the run contract, 3 logged steps of falling loss, beating the mean."""
    for name in ["config.json", "metrics.jsonl", "summary.json", *FIGURES]:
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [100, 200, 300]
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert summary["test_reconstruction_loss"] < summary["baseline_reconstruction_loss"]


@pytest.mark.parametrize("model", ["undercomplete", "overcomplete", "stacked", "tied"])
def test_every_model_runs_end_to_end(tmp_path, model):
    summary = autoencoder.run(config(tmp_path, model=model))
    assert_learned_and_wrote_the_contract(tmp_path, summary)
    assert (tmp_path / "checkpoints" / "300").is_dir()


def test_default_run_beats_a_third_of_the_mean_baseline(tmp_path):
    summary = autoencoder.run(config(tmp_path, steps=3000))  # the quick start's job
    assert summary["test_reconstruction_loss"] < summary["baseline_reconstruction_loss"] / 3


@pytest.mark.parametrize("noise", ["gaussian", "dropout"])
def test_denoising_model_denoises_better_than_the_stacked_one(tmp_path, noise):
    runs = {
        model: autoencoder.run(config(tmp_path / model, model=model, noise=noise, steps=1500))
        for model in ("stacked", "denoising")
    }
    assert (tmp_path / "denoising" / "denoising.png").exists()
    assert not (tmp_path / "stacked" / "denoising.png").exists()
    assert runs["denoising"]["test_denoising_loss"] < runs["stacked"]["test_denoising_loss"]


def test_rerun_resumes_without_repeating_steps_and_matches_a_straight_run(tmp_path):
    straight = autoencoder.run(config(tmp_path / "straight", steps=400, checkpoint_every=200))
    autoencoder.run(config(tmp_path / "resumed", steps=200, checkpoint_every=200))
    resumed = autoencoder.run(config(tmp_path / "resumed", steps=400, checkpoint_every=200))
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [100, 200, 300, 400]
    for key in ("test_reconstruction_loss", "test_denoising_loss", "train_reconstruction_loss"):
        assert resumed[key] == straight[key]


def test_workdir_with_another_config_is_refused(tmp_path):
    autoencoder.run(config(tmp_path, steps=100))
    with pytest.raises(
        ValueError, match=r"holds a run with another config \(model: 'stacked' -> 'tied'\)"
    ):
        autoencoder.run(config(tmp_path, steps=100, model="tied"))
    autoencoder.run(config(tmp_path, steps=100, model="tied", overwrite=True))


def test_cli_help_and_bad_flags():
    script = str(ROOT / "experiments" / "autoencoder.py")
    help_text = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--workdir", "--model", "--noise", "--dataset", "--data-dir", "--steps", "--seed"):
        assert flag in help_text
    bad = subprocess.run([sys.executable, script, "--model", "vae"], capture_output=True, text=True)
    assert bad.returncode != 0 and "vae" in bad.stderr


@pytest.mark.parametrize(
    "model, dataset, extra",
    [
        ("conv", "digits", dict(channels=(4, 8))),
        ("recurrent", "digits", dict(recurrent_hidden=(16,), cell="lstm")),  # 8 rows of 8
        ("recurrent", "sines", dict()),
    ],
)
def test_conv_and_recurrent_models_run_end_to_end(tmp_path, model, dataset, extra):
    summary = autoencoder.run(config(tmp_path, model=model, dataset=dataset, **extra))
    assert_learned_and_wrote_the_contract(tmp_path, summary)
    rows_of_images = model == "recurrent" and dataset == "digits"
    assert summary["dataset"] == ("digits_rows" if rows_of_images else dataset)


def test_recurrent_autoencoder_beats_a_third_of_the_mean_baseline(tmp_path):
    summary = autoencoder.run(config(tmp_path, model="recurrent", steps=1500))  # digits by rows
    assert summary["test_reconstruction_loss"] < summary["baseline_reconstruction_loss"] / 3


@pytest.mark.parametrize(
    "model, dataset, message",
    [
        ("conv", "sines", "the conv autoencoder needs images"),
        ("stacked", "sines", r"the MLP autoencoders need \[N, D\] inputs"),
        ("recurrent", "breast_cancer", r"the recurrent autoencoder needs \[N, T, F\]"),
    ],
)
def test_models_refuse_data_of_the_wrong_shape(tmp_path, model, dataset, message):
    with pytest.raises(ValueError, match=message):
        autoencoder.run(config(tmp_path, model=model, dataset=dataset))
