"""Fault injection: kill and resume, interrupts, divergence, bad input, broken checkpoints,
and two processes on one workdir."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

from genjax.experiment import BaseConfig, Workdir, train
from genjax.train import DivergenceError, TrainState, fit, make_train_step

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "experiments" / "autoencoder.py")
sys.path.insert(0, str(ROOT / "experiments"))

import autoencoder  # noqa: E402

FAST = ["--no-progress", "--embed-examples", "50", "--steps-per-call", "50"]


def start(workdir, *flags):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, SCRIPT, "--workdir", str(workdir), *FAST, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def logged_steps(workdir):
    path = Path(workdir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line]


def final_params(workdir, step):
    restored = ocp.StandardCheckpointer().restore(
        Path(workdir, "checkpoints", str(step), "default")
    )
    return jax.tree.leaves(restored["state"]["params"])


def test_sigkill_then_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    flags = ["--steps", "1500", "--checkpoint-every", "100"]
    straight = start(tmp_path / "straight", *flags)
    killed = start(tmp_path / "killed", *flags)
    rng = np.random.default_rng()
    kill_after = int(rng.integers(200, 1200))  # a random point after a checkpoint or two
    wait_for(lambda: any(s >= kill_after for s in logged_steps(tmp_path / "killed")))
    time.sleep(float(rng.uniform(0, 0.2)))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert straight.wait() == 0, straight.stderr.read()
    resumed = start(tmp_path / "killed", *flags)
    assert resumed.wait() == 0, resumed.stderr.read()

    assert logged_steps(tmp_path / "killed") == list(range(50, 1501, 50))  # no duplicates
    for a, b in zip(
        final_params(tmp_path / "straight", 1500),
        final_params(tmp_path / "killed", 1500),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    summaries = [
        json.loads((tmp_path / d / "summary.json").read_text()) for d in ("straight", "killed")
    ]
    for key in ("test_reconstruction_loss", "test_denoising_loss"):
        assert summaries[0][key] == summaries[1][key]


def test_sigint_saves_and_a_second_process_is_refused(tmp_path):
    run = start(tmp_path, "--steps", "10000000", "--checkpoint-every", "100000")
    wait_for(lambda: len(logged_steps(tmp_path)) >= 2)
    with pytest.raises(ValueError, match=r"is in use by another process \(pid \d+\)"):
        autoencoder.run(
            autoencoder.Config(
                workdir=str(tmp_path),
                steps=10000000,
                checkpoint_every=100000,
                progress=False,
                embed_examples=50,
                steps_per_call=50,
            )
        )
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130
    last = stderr.strip().splitlines()[-1]
    assert "interrupted at step" in last and "checkpoint saved" in last and "resume" in last
    step = int(last.split("interrupted at step ")[1].split()[0])
    assert (tmp_path / "checkpoints" / str(step)).is_dir()
    assert logged_steps(tmp_path)[-1] == step


def nan_at_step(bad_step):
    tx = optax.adam(1e-2)

    def loss_fn(params, x, key):
        loss = jnp.mean((x @ params) ** 2)
        return loss, {}

    base = make_train_step(loss_fn, tx)

    def step(state, batch, key):  # the update that makes step `bad_step` poisons the params
        new, metrics = base(state, batch, key)
        poison = jnp.where(new.step == bad_step, jnp.nan, 0.0)
        new = new._replace(params=new.params + poison)
        return new, {**metrics, "loss": metrics["loss"] + poison}

    return step, TrainState.create(jnp.ones(3), tx)


def test_injected_nan_stops_at_its_step_and_keeps_the_checkpoint_before(tmp_path):
    step, state = nan_at_step(57)
    config = BaseConfig(
        workdir=str(tmp_path),
        steps=200,
        batch_size=8,
        steps_per_call=10,
        checkpoint_every=20,
        progress=False,
    )
    x = jax.random.normal(jax.random.key(0), (64, 3))
    with Workdir(tmp_path, config) as wd:
        with pytest.raises(DivergenceError, match=r"loss became non-finite .* at step 57;.*resume"):
            train(wd, config, step, state, x, jax.random.key(1))
        assert wd.checkpoints.latest_step() == 40
        restored = wd.restore_or({"state": state, "key": jax.random.key_data(jax.random.key(1))})
        assert int(restored["state"].step) == 40 and np.isfinite(restored["state"].params).all()
    assert logged_steps(tmp_path)[-1] == 40  # rows of the bad chunk never reached the log


def test_skip_nonfinite_updates_keeps_training(tmp_path):
    tx = optax.apply_if_finite(optax.sgd(0.1), max_consecutive_errors=5)

    def loss_fn(params, x, key):  # non-finite for one sampled example value
        return jnp.mean(jnp.where(x[:, 0] > 2.5, jnp.inf, (x @ params) ** 2)), {}

    x = jax.random.normal(jax.random.key(0), (256, 3))
    step = make_train_step(loss_fn, tx)
    with pytest.raises(DivergenceError):
        fit(
            step,
            TrainState.create(jnp.ones(3), tx),
            x,
            jax.random.key(0),
            num_steps=200,
            batch_size=64,
            progress=False,
        )
    state, _ = fit(
        step,
        TrainState.create(jnp.ones(3), tx),
        x,
        jax.random.key(0),
        num_steps=200,
        batch_size=64,
        progress=False,
        skip_nonfinite=True,
    )
    assert np.isfinite(state.params).all() and np.abs(state.params).max() < 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(steps=0), "--steps must be >= 1, got 0"),
        (dict(batch_size=-4), "--batch-size must be >= 1, got -4"),
        (dict(learning_rate=0.0), "--learning-rate must be > 0"),
        (dict(noise="dropout", noise_level=1.0), r"dropout rate must be in \[0, 1\), got 1.0"),
        (dict(noise="gaussian", noise_level=-0.5), "noise stddev must be >= 0"),
        (dict(dataset="imagenet"), r"unknown dataset 'imagenet'; choose from .*digits"),
        (dict(model="vae"), "unknown autoencoder model 'vae'; choose from"),
        (dict(model="undercomplete", latent_dim=100), "undercomplete needs latent_dim < 64"),
        (dict(latent_dim=-3), "latent_dim must be >= 1"),
        (dict(hidden=(64, 0)), "hidden sizes must be >= 1"),
    ],
)
def test_bad_config_is_refused_before_touching_the_workdir(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        autoencoder.run(
            autoencoder.Config(workdir=str(tmp_path / "w"), progress=False, **overrides)
        )
    assert not (tmp_path / "w" / "config.json").exists()


def test_a_field_added_since_a_run_counts_as_its_default(tmp_path):
    config = autoencoder.Config(workdir=str(tmp_path), progress=False)
    Workdir(tmp_path, config).close()
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["noise_level"]  # as written by a version without that field
    (tmp_path / "config.json").write_text(json.dumps(saved))
    Workdir(tmp_path, config).close()  # the default: the same run
    with pytest.raises(ValueError, match=r"another config \(noise_level: 0.3 -> 0.5\)"):
        Workdir(tmp_path, dataclass_replace(config, noise_level=0.5))


def test_nan_in_training_data_is_named():
    tx = optax.sgd(0.1)
    x = jnp.ones((10, 3)).at[4, 1].set(jnp.nan)
    with pytest.raises(ValueError, match=r"training data \['x'\] has NaN or Inf in 1 examples"):
        fit(
            make_train_step(lambda p, b, k: (jnp.sum(p * b["x"]), {}), tx),
            TrainState.create(jnp.ones(3), tx),
            {"x": x},
            jax.random.key(0),
            num_steps=5,
            batch_size=2,
            progress=False,
        )


def test_truncated_checkpoint_names_the_file(tmp_path):
    config = autoencoder.Config(workdir=str(tmp_path), steps=100, progress=False, embed_examples=50)
    autoencoder.run(config)
    files = [p for p in (tmp_path / "checkpoints" / "100").rglob("*") if p.is_file()]
    biggest = max(files, key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"checkpoint .*checkpoints/100 could not be read"):
        autoencoder.run(dataclass_replace(config, steps=200))


def dataclass_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_cli_errors_are_one_line(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("GENJAX_TRACEBACK", None)
    result = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            "--workdir",
            str(tmp_path),
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: mnist: pass --data-dir DIR holding the IDX files")
