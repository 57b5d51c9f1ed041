"""End-to-end runs of experiments/vae.py and experiments/ae_vs_vae.py on the embedded digits."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tyro

import genjax.train.loop
from genjax.data import load

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import ae_vs_vae  # noqa: E402
import vae  # noqa: E402

FIGURES = ["samples.png", "reconstructions.png", "interpolation.png", "latent_scatter.png"]


def config(tmp_path, **overrides):
    fields = dict(
        workdir=str(tmp_path), steps=300, progress=False, iwae_samples=50, embed_examples=100
    )
    return vae.Config(**{**fields, **overrides})


def read_rows(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_vae_learns_and_the_iwae_bound_is_tighter_than_the_elbo(tmp_path):
    summary = vae.run(config(tmp_path, steps=1200, latent_dim=2, iwae_samples=200))
    for name in ["config.json", "summary.json", "loss.png", "manifold.png", *FIGURES]:
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["decoder"] == "gaussian"  # digits are of kind "real"
    assert summary["iwae_samples"] == 200 and summary["test_examples"] == 359
    rows = read_rows(tmp_path)
    assert [r["step"] for r in rows] == list(range(100, 1201, 100))
    first = -rows[0]["elbo"]
    assert summary["first_logged_neg_elbo"] == pytest.approx(first)
    np.testing.assert_allclose(
        summary["test_elbo"], -(summary["test_reconstruction"] + summary["test_kl"]), rtol=1e-5
    )
    assert summary["test_kl"] > 0
    assert summary["test_nll_iwae"] < -summary["test_elbo"]
    assert -summary["test_elbo"] < first - 20  # nats per example, from about +4 to below −30


def test_conditional_beta_sweep_trains_one_compiled_population(tmp_path, monkeypatch):
    chunks = []
    original = genjax.train.loop.make_chunk

    def spy(*args, **kwargs):
        chunks.append((original(*args, **kwargs), kwargs.get("population")))
        return chunks[-1][0]

    monkeypatch.setattr(genjax.train.loop, "make_chunk", spy)
    summary = vae.run(
        config(
            tmp_path,
            beta_sweep="0.25,1,4",
            steps=400,
            latent_dim=4,
            conditional=True,
            binarize="dynamic",
        )
    )
    assert len(chunks) == 1 and chunks[0][1] is True
    assert chunks[0][0]._cache_size() == 1  # one compiled program trained all members
    assert summary["beta"] == [0.25, 1.0, 4.0]
    rows = read_rows(tmp_path)
    assert all(len(r["loss"]) == 3 for r in rows)
    for key in ("test_elbo", "test_reconstruction", "test_kl", "test_nll_iwae"):
        assert len(summary[key]) == 3
    rate = summary["test_kl"]
    assert rate[0] > rate[1] > rate[2]  # a larger β buys a smaller rate
    assert (tmp_path / "rate_distortion.png").exists()
    for name in FIGURES:
        assert (tmp_path / name).exists(), name
    # conditional, dynamically binarized members: bernoulli decoder, labels followed
    assert summary["decoder"] == "bernoulli" and summary["conditional"] is True
    assert all(a > 0.3 for a in summary["sample_label_accuracy"])  # chance is 0.1
    assert all(
        nll < -elbo
        for nll, elbo in zip(summary["test_nll_iwae"], summary["test_elbo"], strict=True)
    )


def test_flags_reach_the_model(tmp_path):
    ds = load("digits")
    cfg = config(
        tmp_path,
        arch="conv",
        conv_features=(8, 16),
        hidden=(32,),
        latent_dim=3,
        conditional=True,
        min_stddev=0.1,
    )
    model = vae.build_model(cfg, ds, "gaussian")
    assert (model.arch, model.conv_features, model.hidden) == ("conv", (8, 16), (32,))
    assert (model.latent_dim, model.num_classes, model.min_stddev) == (3, 10, 0.1)
    assert model.image_shape == (8, 8, 1) and model.likelihood == "gaussian"
    x, y = jnp.zeros((1, 64)), jnp.zeros((1,), jnp.int32)
    shapes = jax.eval_shape(model.init, jax.random.key(0), x, jax.random.key(1), y)
    assert set(shapes["params"]) == {"trunk", "decoder", "mean_head", "logvar_head"}
    assert set(shapes["params"]["trunk"]) == {"conv_0", "conv_1", "head"}


def test_rerun_resumes_and_matches_a_straight_run(tmp_path, monkeypatch):
    monkeypatch.setattr(vae, "draw_figures", lambda *args, **kwargs: None)  # not under test
    straight = vae.run(config(tmp_path / "straight", steps=200, checkpoint_every=100))
    vae.run(config(tmp_path / "resumed", steps=100, checkpoint_every=100))
    resumed = vae.run(config(tmp_path / "resumed", steps=200, checkpoint_every=100))
    assert [r["step"] for r in read_rows(tmp_path / "resumed")] == [100, 200]
    for key in ("test_elbo", "test_nll_iwae", "first_logged_neg_elbo"):
        assert resumed[key] == straight[key]


def test_bad_configurations_are_refused(tmp_path):
    with pytest.raises(ValueError, match="comma-separated numbers"):
        config(tmp_path, beta_sweep="1;2")
    with pytest.raises(ValueError, match="either --beta or --beta-sweep"):
        config(tmp_path, beta_sweep="1,2", beta=2.0)
    with pytest.raises(ValueError, match="use --decoder bernoulli"):
        config(tmp_path, binarize="static", decoder="gaussian")
    with pytest.raises(ValueError, match="--min-stddev must lie in"):
        config(tmp_path, min_stddev=0.0)
    with pytest.raises(ValueError, match="needs data in \\[0, 1\\]"):
        vae.run(config(tmp_path / "bc", dataset="breast_cancer", decoder="bernoulli"))
    with pytest.raises(ValueError, match="--arch conv needs images"):
        vae.run(config(tmp_path / "bc", dataset="breast_cancer", arch="conv"))
    assert not (tmp_path / "bc" / "config.json").exists()  # refused before touching it


def test_ae_vs_vae_random_latents_decode_to_data_only_for_the_vae(tmp_path):
    summary = ae_vs_vae.run(
        ae_vs_vae.Config(workdir=str(tmp_path), steps=1000, progress=False, pairs=50)
    )
    assert (tmp_path / "ae_vs_vae.png").exists()
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    # random N(0, I) latents: VAE decodes near the data, the AE far off it
    assert summary["vae_random_nearest_distance"] < 0.8 * summary["ae_random_nearest_distance"]
    assert summary["vae_random_nearest_distance"] < 1.3 * summary["test_nearest_distance"]
    assert summary["vae_random_confidence"] > summary["ae_random_confidence"]
    # the price: the AE reconstructs better, having no KL term
    assert summary["ae_test_reconstruction"] < summary["vae_test_reconstruction"]


def test_cli_help_and_bad_flags(capsys):
    script = str(ROOT / "experiments" / "vae.py")
    help_text = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--decoder",
        "--latent-dim",
        "--beta",
        "--beta-sweep",
        "--conditional",
        "--binarize",
        "--iwae-samples",
        "--arch",
        "--workdir",
        "--dataset",
        "--steps",
        "--seed",
    ):
        assert flag in help_text
    with pytest.raises(SystemExit):
        tyro.cli(vae.Config, args=["--decoder", "poisson"])
    assert "poisson" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tyro.cli(ae_vs_vae.Config, args=["--help"])
    assert "--random-latents" in capsys.readouterr().out
