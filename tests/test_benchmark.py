import json
import subprocess
import sys
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import benchmark  # noqa: E402


def test_quick_benchmark_measures_every_row(tmp_path, capsys):
    results = benchmark.run(benchmark.Config(workdir=str(tmp_path), quick=True, repeats=1))
    saved = json.loads((tmp_path / "benchmark.json").read_text())
    assert saved["fit_compiles"] == 1  # one program for every call, partial or not
    assert (
        saved["vae_weights"]
        == 784 * 400 + 400 + 2 * (400 * 20 + 20) + 20 * 400 + 400 + 400 * 784 + 784
    )
    for key in ("handwritten", "spc1", "spc100", "spc1000", "grad_norm"):
        assert 0 < saved[f"vae_peak_fraction_{key}"] < 1.5
    assert saved["fit_over_handwritten"] > 0
    assert saved["population_speedup"] > 0
    for key in ("conv_autoencoder", "dcgan"):
        assert saved[f"{key}_steps_per_second"] > 0 and saved[f"{key}_peak_fraction"] > 0
    assert saved["coevolution_2x2_2_devices_epochs_per_second"] > 0
    assert len(saved["rows"]) == len(results["rows"]) >= 10
    table = capsys.readouterr().out
    assert "float32 matmul peak" in table and "VAE via fit, steps_per_call=1000" in table


def test_cli_rejects_a_missing_backend(tmp_path):
    if jax.devices()[0].platform != "cpu":
        pytest.skip("an accelerator is present")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "benchmark.py"),
            "--workdir",
            str(tmp_path),
            "--device",
            "gpu",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
