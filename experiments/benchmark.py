"""How close genjax's training loop comes to the machine's limit.

    python experiments/benchmark.py --workdir runs/benchmark [--quick] [--device cpu|gpu]

Measures, in one process, and writes `benchmark.json` plus a printed table:
1. the matmul peak: GFLOP/s of a large float32 `jnp.dot`, the ceiling for every other row;
2. the reference VAE (784-400-20-400-784, ReLU, Bernoulli decoder, Adam, batch 128, data on
   the device): its step in a hand-written `lax.scan`, then through the public `fit` with
   `steps_per_call` = 1, 100 and 1000 (`make_train_step(..., grad_norm=False)`: the same
   work as the hand-written loop, plus the loss's metrics), and at 1000 with
   `make_train_step`'s default per-step gradient-norm metric;
3. 8 such VAEs as one vmapped population against the same 8 trained one after another;
4. the convolutional autoencoder and a DCGAN (1 D + 1 G update per step) through `fit`;
5. co-evolution grid epochs per second for grids 2×2 to 4×4 on one device and, on CPU, for
   a 4×4 grid sharded over 1, 4 and 8 simulated devices (each in its own process);
6. how many times a 1000-step `fit` compiles its training program, and how long that takes.

FLOPs: the MLP VAE counts `6 × batch × weights` per step (2 for the forward matmuls, 4 for
the backward ones; elementwise work ignored), as is customary; the convolutional rows use
XLA's cost analysis of one step. Throughput is measured after a warm-up call
(compilation excluded) as the best of `repeats` timings.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from genjax.coevolution import benchmark_epochs, benchmark_epochs_subprocess
from genjax.experiment import cli, to_jsonable
from genjax.models.autoencoder import ConvAutoencoder, make_reconstruction_loss
from genjax.models.vae import VAE, make_vae_loss
from genjax.nn import count_params
from genjax.nn.gan import make_gan_nets
from genjax.train import TrainState, fit, init_population, make_train_step
from genjax.train.gan import GANObjective, init_gan, make_gan_step

BATCH = 128


@dataclasses.dataclass(frozen=True)
class Config:
    workdir: str = "runs/benchmark"
    """Directory for benchmark.json."""
    quick: bool = False
    """A reduced version (smaller peak matmul, fewer steps and grids) for the tests."""
    device: Literal["auto", "cpu", "gpu"] = "auto"
    """The backend to measure on; auto: JAX's default."""
    repeats: int = 3
    """Timings per row; the best is reported."""

    def __post_init__(self):
        if self.repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {self.repeats}")


class Row(NamedTuple):
    name: str
    rate: float | None  # steps (or epochs) per second
    gflops: float | None
    peak_fraction: float | None


def best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` wall-clock timings of `fn()` (which must block)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(n: int, repeats: int) -> float:
    """GFLOP/s of an `[n, n] @ [n, n]` float32 product (2n³ FLOPs)."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    calls = 5
    seconds = best_time(lambda: [dot(a, b) for _ in range(calls)][-1].block_until_ready(), repeats)
    return 2 * n**3 * calls / seconds / 1e9


def fit_seconds(step, state, data, key, *, steps, steps_per_call, population=False):
    """A blocking `fit` of `steps` steps, timed (its compiled program is cached per step)."""
    start = time.perf_counter()
    final, _ = fit(
        step,
        state,
        data,
        key,
        num_steps=steps,
        batch_size=BATCH,
        steps_per_call=steps_per_call,
        population=population,
        progress=False,
    )
    jax.block_until_ready(final)
    return time.perf_counter() - start


def fit_rate(step, state, data, *, steps, steps_per_call, repeats) -> float:
    """Steady-state steps per second of `fit` (compiled by a warm-up call)."""
    key = jax.random.key(0)
    fit_seconds(step, state, data, key, steps=steps_per_call, steps_per_call=steps_per_call)
    seconds = best_time(
        lambda: fit_seconds(step, state, data, key, steps=steps, steps_per_call=steps_per_call),
        repeats,
    )
    return steps / seconds


def step_flops(step, state, batch) -> float:
    """FLOPs of one step by XLA's cost analysis of the lowered (not compiled) step."""
    lowered = jax.jit(step).lower(state, batch, jax.random.key(0))
    return float(lowered.cost_analysis().get("flops", 0.0))


class CompileCounter(logging.Handler):
    """Collects the compile times of jitted functions named `name` (jax_log_compiles)."""

    def __init__(self, name: str):
        super().__init__()
        self.marker = f"Finished XLA compilation of jit({name})"
        self.seconds: list[float] = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith(self.marker):
            self.seconds.append(float(message.split(" in ")[-1].split()[0]))


def count_fit_compiles(step, state, data, *, steps: int) -> tuple[int, float]:
    """(compilations of fit's training program, seconds spent compiling) for a fresh fit."""
    counter = CompileCounter("chunk")
    logger = logging.getLogger("jax")
    saved = logger.level, logger.propagate
    logger.addHandler(counter)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # count the messages without printing them
    try:
        with jax.log_compiles(True):
            fit(
                step,
                state,
                data,
                jax.random.key(0),
                num_steps=steps,
                batch_size=BATCH,
                steps_per_call=100,
                progress=False,
            )
    finally:
        logger.removeHandler(counter)
        logger.level, logger.propagate = saved
    return len(counter.seconds), sum(counter.seconds)


def reference_vae():
    """(model, tx, x): the issue's reference VAE and Adam, on 10k random binary 784-vectors."""
    model = VAE(input_dim=784, latent_dim=20, hidden=(400,), likelihood="bernoulli")
    x = (jax.random.uniform(jax.random.key(2), (10_000, 784)) < 0.3).astype(jnp.float32)
    return model, optax.adam(1e-3), x


def handwritten_rate(loss_fn, tx, params, x, *, steps: int, repeats: int) -> float:
    """Steps per second of the same VAE step in a hand-written `lax.scan` (no genjax loop):
    minibatch, loss and gradient, Adam; the loss of every step kept. What `fit` adds to it
    (metrics, traced trip count, placement, host loop) is the difference."""

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train(params, opt_state, x, key):
        def body(carry, step):
            params, opt_state = carry
            batch_key, loss_key = jax.random.split(jax.random.fold_in(key, step))
            batch = x[jax.random.randint(batch_key, (BATCH,), 0, x.shape[0])]  # [B, 784]
            (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch, loss_key)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        return jax.lax.scan(body, (params, opt_state), jnp.arange(steps))

    def run_once():
        fresh = jax.tree.map(jnp.copy, (params, tx.init(params)))
        jax.block_until_ready(train(*fresh, x, jax.random.key(0)))

    run_once()  # compile
    return steps / best_time(run_once, repeats)


def vae_rows(config: Config, peak: float, results: dict) -> list[Row]:
    quick, repeats = config.quick, config.repeats
    model, tx, x = reference_vae()
    # The reference step does what the hand-written loop does. make_train_step's default
    # adds the per-step gradient norm: one more pass over the 652k gradients, which XLA:CPU
    # cannot fuse into Adam's update (its reductions run as separate YNNPACK kernels).
    loss_fn = make_vae_loss(model)
    step = make_train_step(loss_fn, tx, grad_norm=False)

    def init(key):
        return model.init(key, x[:1], key)["params"]

    params = init(jax.random.key(0))
    weights = count_params(params)
    flops = 6 * BATCH * weights
    results.update(vae_weights=weights, vae_flops_per_step=flops)
    steps = 50 if quick else 1000

    def row(name: str, rate: float, key: str | None = None) -> Row:
        """A table row; with `key`, also `vae_{steps_per_second,peak_fraction}_{key}`."""
        gflops = rate * flops / 1e9
        if key is not None:
            results[f"vae_steps_per_second_{key}"] = rate
            results[f"vae_peak_fraction_{key}"] = gflops / peak
        return Row(name, rate, gflops, gflops / peak)

    rate = handwritten_rate(loss_fn, tx, params, x, steps=steps, repeats=repeats)
    rows = [row("VAE, hand-written lax.scan loop (no fit)", rate, "handwritten")]
    for steps_per_call in (1, 100, 1000):
        # one host round trip per step costs more than the step itself: time fewer of them
        rate = fit_rate(
            step,
            TrainState.create(params, tx),
            x,
            steps=steps if steps_per_call > 1 else steps // 5,
            steps_per_call=min(steps_per_call, steps),
            repeats=repeats,
        )
        name = f"VAE via fit, steps_per_call={steps_per_call}"
        rows.append(row(name, rate, f"spc{steps_per_call}"))
    results["fit_over_handwritten"] = rate / results["vae_steps_per_second_handwritten"]
    rate = fit_rate(
        make_train_step(loss_fn, tx),
        TrainState.create(params, tx),
        x,
        steps=steps,
        steps_per_call=min(1000, steps),
        repeats=repeats,
    )
    rows.append(row("VAE via fit, steps_per_call=1000, + grad_norm metric", rate, "grad_norm"))

    # 8 VAEs from different seeds: one vmapped fit against 8 fits one after another
    # quick: 4 members, and the single model reuses the program compiled for the rows above
    members, steps = (4, 50) if quick else (8, 300)
    keys = jax.random.split(jax.random.key(1), members)
    population = init_population(init, tx, keys)
    singles = [TrainState.create(init(k), tx) for k in keys]

    def vmapped():
        fit_seconds(step, population, x, keys, steps=steps, steps_per_call=steps, population=True)

    def sequential():
        for state, key in zip(singles, keys, strict=True):
            fit_seconds(step, state, x, key, steps=steps, steps_per_call=steps)

    vmapped(), sequential()  # compile both programs
    vmapped_seconds, sequential_seconds = (
        best_time(vmapped, repeats),
        best_time(sequential, repeats),
    )
    for name, seconds in (("vmapped", vmapped_seconds), ("one after another", sequential_seconds)):
        rows.append(row(f"{members} VAEs {name} (member-steps/s)", members * steps / seconds))
    results.update(
        population_members=members,
        population_member_steps_per_second=members * steps / vmapped_seconds,
        sequential_member_steps_per_second=members * steps / sequential_seconds,
        population_speedup=sequential_seconds / vmapped_seconds,
    )

    steps = 250 if quick else 1000  # quick: 3 calls, the last one partial
    compiles, compile_seconds = count_fit_compiles(
        make_train_step(loss_fn, tx, grad_norm=False),  # a new step: nothing cached
        TrainState.create(params, tx),
        x,
        steps=steps,
    )
    results.update(fit_steps=steps, fit_compiles=compiles, fit_compile_seconds=compile_seconds)
    return rows


def conv_autoencoder():
    model = ConvAutoencoder(image_shape=(28, 28, 1), latent_dim=20)
    x = jax.random.uniform(jax.random.key(0), (2048, 784))
    tx = optax.adam(1e-3)
    params = model.init(jax.random.key(1), x[:1])["params"]
    step = make_train_step(make_reconstruction_loss(model, likelihood="bernoulli"), tx)
    return step, TrainState.create(params, tx), x


def dcgan():
    generator, discriminator = make_gan_nets(
        "dcgan", data_dim=784, image_shape=(28, 28, 1), output_activation="sigmoid"
    )
    objective = GANObjective(generator, discriminator, latent_dim=64, loss="non_saturating")
    g_tx, d_tx = optax.adam(2e-4, b1=0.5), optax.adam(2e-4, b1=0.5)
    x = jax.random.uniform(jax.random.key(0), (2048, 784))
    state = init_gan(objective, jax.random.key(1), x[0], g_tx, d_tx)
    return make_gan_step(objective, g_tx, d_tx), state, x


def conv_rows(config: Config, peak: float, results: dict) -> list[Row]:
    rows = []
    steps = 2 if config.quick else 20
    for name, key, build in (
        ("conv autoencoder via fit", "conv_autoencoder", conv_autoencoder),
        ("DCGAN via fit (1 D + 1 G update)", "dcgan", dcgan),
    ):
        step, state, x = build()
        flops = step_flops(step, state, x[:BATCH])
        rate = fit_rate(step, state, x, steps=steps, steps_per_call=steps, repeats=config.repeats)
        gflops = rate * flops / 1e9
        results.update({f"{key}_steps_per_second": rate, f"{key}_peak_fraction": gflops / peak})
        rows.append(Row(name, rate, gflops, gflops / peak))
    return rows


def coevolution_rows(config: Config, results: dict, device) -> list[Row]:
    """Epochs per second of the small grid25 problem of `genjax.coevolution.bench` (MLP
    pairs 64-64, 10 GAN steps of batch 64 per cell per epoch)."""
    options = dict(epochs=2, repeats=1, hidden=(16,), steps_per_epoch=2) if config.quick else {}
    grids = () if config.quick else ((2, 2), (3, 3), (4, 4))  # quick: one subprocess row
    rows = []
    for grid in grids:
        rate = benchmark_epochs(grid, 1, **options)
        name = f"{grid[0]}x{grid[1]}"
        results[f"coevolution_{name}_epochs_per_second"] = rate
        rows.append(Row(f"co-evolution {name} grid, 1 device (epochs/s)", rate, None, None))
    if device.platform == "cpu":  # simulated devices are a CPU feature
        grid = (2, 2) if config.quick else (4, 4)
        name = f"{grid[0]}x{grid[1]}"
        for devices in (2,) if config.quick else (1, 4, 8):
            rate = benchmark_epochs_subprocess(grid, devices, **options)
            results[f"coevolution_{name}_{devices}_devices_epochs_per_second"] = rate
            label = f"co-evolution {name} grid, {devices} simulated devices (epochs/s)"
            rows.append(Row(label, rate, None, None))
    return rows


def run(config: Config) -> dict:
    try:
        device = None if config.device == "auto" else jax.devices(config.device)[0]
    except RuntimeError:
        available = sorted({d.platform for d in jax.devices()})
        raise ValueError(
            f"--device {config.device}: no such backend here (have {available})"
        ) from None
    with jax.default_device(device):
        return _measure(config, device or jax.devices()[0])


def _measure(config: Config, device) -> dict:
    results: dict = {
        "device": f"{device.platform}: {device.device_kind}",
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "batch": BATCH,
    }
    peak = matmul_peak(1024 if config.quick else 2048, config.repeats)
    results["peak_gflops"] = peak
    rows = [Row("float32 matmul peak", None, peak, 1.0)]
    rows += vae_rows(config, peak, results)
    rows += conv_rows(config, peak, results)
    rows += coevolution_rows(config, results, device)
    results["rows"] = [row._asdict() for row in rows]

    os.makedirs(config.workdir, exist_ok=True)
    with open(os.path.join(config.workdir, "benchmark.json"), "w") as f:
        json.dump(to_jsonable(results), f, indent=2, sort_keys=True)
    print(format_table(rows, results))
    return results


def format_table(rows: list[Row], results: dict) -> str:
    def number(value, spec):
        return "" if value is None else format(value, spec)

    lines = [
        f"device: {results['device']} ({results['cpu_count']} CPUs visible), jax {results['jax']}",
        f"VAE FLOPs/step = 6 x batch {BATCH} x {results['vae_weights']:,} weights; conv rows: "
        "XLA cost analysis",
        "",
        f"| {'measurement':<62} | {'steps/s':>9} | {'GFLOP/s':>8} | {'of peak':>7} |",
        f"| {'-' * 62} | {'-' * 8}: | {'-' * 7}: | {'-' * 6}: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.name:<62} | {number(row.rate, ',.1f'):>9} "
            f"| {number(row.gflops, ',.1f'):>8} | {number(row.peak_fraction, '.0%'):>7} |"
        )
    lines += [
        "",
        f"fit (1000 steps per call) over the hand-written loop: "
        f"{results['fit_over_handwritten']:.2f}x",
        f"population speed-up over one after another: {results['population_speedup']:.2f}x",
        f"{results['fit_steps']}-step fit (100 steps per call): {results['fit_compiles']} "
        f"compile(s) of the training program, {results['fit_compile_seconds']:.2f} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    cli(Config, run)
