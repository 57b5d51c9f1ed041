"""experiments/pretrain.py: labelled subsets, slot tables, the population's initialization,
and end-to-end runs on the embedded digits."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import pretrain  # noqa: E402

from genjax.models import Autoencoder, EncoderClassifier, with_encoder  # noqa: E402


def config(tmp_path, **overrides):
    fields = dict(
        workdir=str(tmp_path),
        pretrain_steps=200,
        steps=200,
        labels_per_class=(1, 5, "all"),
        seeds=2,
        progress=False,
    )
    return pretrain.Config(**{**fields, **overrides})


def test_labelled_subset_takes_n_of_each_class():
    y = np.repeat(np.arange(3), [4, 6, 5])
    rng = np.random.default_rng(0)
    subset = pretrain.labelled_subset(y, 2, 3, rng)
    assert np.bincount(y[subset], minlength=3).tolist() == [2, 2, 2]
    assert len(set(subset.tolist())) == 6
    np.testing.assert_array_equal(pretrain.labelled_subset(y, "all", 3, rng), np.arange(15))
    with pytest.raises(ValueError, match="5 labels per class asked, but class 0 has only 4"):
        pretrain.labelled_subset(y, 5, 3, rng)


def test_slot_tables_give_every_labelled_example_the_same_total_weight():
    subsets = [np.array([10, 11, 12]), np.arange(20, 27), np.array([5])]
    tables = pretrain.slot_tables(subsets)
    assert tables["index"].shape == tables["weight"].shape == (7, 3)
    for k, subset in enumerate(subsets):
        index, weight = tables["index"][:, k], tables["weight"][:, k]
        assert set(index.tolist()) == set(subset.tolist())
        totals = [weight[index == i].sum() for i in subset]
        np.testing.assert_allclose(totals, 1.0, rtol=1e-6)


def test_classifier_loss_is_the_weighted_mean_over_the_members_column():
    classifier = EncoderClassifier((8,), 4, 3)
    x = jax.random.normal(jax.random.key(0), (6, 5))
    y = jnp.array([0, 1, 2, 0, 1, 2])
    params = classifier.init(jax.random.key(1), x[:1])["params"]
    loss_fn = jax.jit(pretrain.make_classifier_loss(classifier, x, y))
    slots = {
        "index": jnp.array([[0, 3], [1, 4], [1, 5]]),
        "weight": jnp.array([[1.0, 1.0], [0.5, 1.0], [0.5, 1.0]]),
    }
    nll = optax.softmax_cross_entropy_with_integer_labels(
        classifier.apply({"params": params}, x), y
    )
    loss, _ = loss_fn(params, slots, jax.random.key(0), subset=jnp.float32(0))
    np.testing.assert_allclose(loss, (nll[0] + nll[1]) / 2, rtol=1e-5)
    loss, _ = loss_fn(params, slots, jax.random.key(0), subset=jnp.float32(1))
    np.testing.assert_allclose(loss, nll[3:].mean(), rtol=1e-5)


def test_pretrained_members_start_from_exactly_the_encoders_weights():
    autoencoder = Autoencoder(64, (16,), 4)
    classifier = EncoderClassifier((16,), 4, 10)
    example = jnp.zeros((1, 64))
    ae_params = autoencoder.init(jax.random.key(0), example)["params"]
    keys = jax.random.split(jax.random.key(1), 3)
    population = pretrain.init_members(
        classifier, optax.sgd(0.1), ae_params, keys, np.arange(3), example
    )
    assert population.params["head"]["kernel"].shape == (6, 4, 10)
    np.testing.assert_array_equal(population.hparams["subset"], [0, 1, 2, 0, 1, 2])
    encoder_leaves = jax.tree.leaves(ae_params["encoder"])
    for i in range(6):
        member = jax.tree.map(lambda leaf, i=i: leaf[i], population.params)
        leaves = jax.tree.leaves(member["encoder"])
        same = [np.array_equal(a, b) for a, b in zip(leaves, encoder_leaves, strict=True)]
        if i < 3:  # pretrained members: every array of the encoder, bit for bit
            assert all(same), i
        else:  # random members: fresh kernels (the biases start at zero in both)
            assert not any(s for s, leaf in zip(same, leaves, strict=True) if leaf.ndim == 2)
        pair = jax.tree.map(lambda leaf, i=i: leaf[(i + 3) % 6], population.params)
        np.testing.assert_array_equal(member["head"]["kernel"], pair["head"]["kernel"])
    with pytest.raises(ValueError, match="encoder shapes differ"):
        with_encoder(
            classifier.init(keys[0], example)["params"],
            Autoencoder(64, (8,), 4).init(keys[0], example)["params"],
        )


def test_run_writes_the_contract_and_resumes(tmp_path):
    summary = pretrain.run(config(tmp_path))
    for name in ("config.json", "metrics.jsonl", "summary.json", "label_efficiency.png"):
        assert (tmp_path / name).exists(), name
    assert (tmp_path / "checkpoints" / "200").is_dir()
    assert (tmp_path / "autoencoder" / "checkpoints" / "200").is_dir()
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["num_members"] == 2 * 3 * 2
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [100, 200] and len(rows[0]["loss"]) == 12
    assert np.mean(rows[-1]["loss"]) < np.mean(rows[0]["loss"])
    assert (
        summary["pretrain_test_reconstruction_loss"]
        < summary["pretrain_baseline_reconstruction_loss"]
    )
    for init in pretrain.INITS:
        for n in (1, 5, "all"):
            assert 0 <= summary[f"test_accuracy_{init}_{n}_std"] < 0.5
            assert summary[f"test_accuracy_{init}_{n}_mean"] > 0.2  # chance: 0.1
        assert summary[f"test_accuracy_{init}_all_mean"] > summary[f"test_accuracy_{init}_1_mean"]
    again = pretrain.run(config(tmp_path))  # resumes both phases: nothing left to train
    assert again == {**summary, **{k: again[k] for k in ("pretrain_seconds", "finetune_seconds")}}


def test_pretrained_beats_random_init_with_few_labels(tmp_path):
    summary = pretrain.run(
        config(tmp_path, pretrain_steps=2000, steps=300, labels_per_class=(1, 5), seeds=5)
    )
    for n in (1, 5):
        assert (
            summary[f"test_accuracy_pretrained_{n}_mean"]
            > summary[f"test_accuracy_random_{n}_mean"] + 0.02
        )
        assert summary[f"pretrained_wins_{n}"] >= 4


def test_bad_flags():
    with pytest.raises(ValueError, match="--labels-per-class values must be >= 1 or 'all'"):
        pretrain.Config(labels_per_class=(0, 5))
    with pytest.raises(ValueError, match="repeats"):
        pretrain.Config(labels_per_class=(5, 5))
    script = str(ROOT / "experiments" / "pretrain.py")
    help_text = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--workdir",
        "--labels-per-class",
        "--seeds",
        "--pretrain-steps",
        "--finetune-optimizer",
    ):
        assert flag in help_text
