"""How close genjax's training loop comes to the machine's limit.

    python experiments/benchmark.py --workdir runs/benchmark [--quick] [--device cpu|gpu]

Measures, in one process, and writes `benchmark.json` plus a printed table:
1. the matmul peak: GFLOP/s of a large float32 `jnp.dot`, the ceiling for every other row;
2. the reference VAE (784-400-20-400-784, ReLU, Bernoulli decoder, Adam, batch 128, data on
   the device) through the public `fit`, with `steps_per_call` = 1, 100 and 1000;
3. 8 such VAEs as one vmapped population against the same 8 trained one after another;
4. one step of the convolutional autoencoder and of a DCGAN;
5. how many times a 1000-step `fit` compiles its training program, and how long that takes.

FLOPs: the MLP VAE counts `6 × batch × weights` per step (2 for the forward matmuls, 4 for
the backward ones; elementwise work ignored), as is customary; the convolutional rows use
XLA's own cost analysis of the compiled step. Throughput is measured after a warm-up call
(compilation excluded) as the best of `repeats` timings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Literal

import jax
import jax.numpy as jnp
import optax

from genjax.experiment import cli, to_jsonable
from genjax.models.autoencoder import make_reconstruction_loss
from genjax.models.vae import VAE, make_vae_loss
from genjax.nn import count_params
from genjax.train import TrainState, fit, init_population, make_train_step

BATCH = 128


@dataclasses.dataclass(frozen=True)
class Config:
    workdir: str = "runs/benchmark"
    """Directory for benchmark.json."""
    quick: bool = False
    """A reduced version (smaller peak matmul, fewer steps) for the tests."""
    device: Literal["auto", "cpu", "gpu"] = "auto"
    """The backend to measure on; auto: JAX's default."""
    repeats: int = 3
    """Timings per row; the best is reported."""


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


def reference_vae():
    model = VAE(input_dim=784, latent_dim=20, hidden=(400,), likelihood="bernoulli")
    x = (jax.random.uniform(jax.random.key(2), (10_000, 784)) < 0.3).astype(jnp.float32)
    tx = optax.adam(1e-3)
    step = make_train_step(make_vae_loss(model), tx)

    def init(key):
        return model.init(key, x[:1], key)["params"]

    return step, init, tx, x


def fit_rate(step, state, data, key, *, steps, steps_per_call, repeats, population=False):
    """Steady-state steps per second of `fit` (its compiled program cached by a warm-up)."""

    def run(num_steps):
        final, _ = fit(
            step,
            state,
            data,
            key,
            num_steps=num_steps,
            batch_size=BATCH,
            steps_per_call=steps_per_call,
            population=population,
            progress=False,
        )
        jax.block_until_ready(final)

    run(steps_per_call)  # compile
    return steps / best_time(lambda: run(steps), repeats)


class CompileCounter(logging.Handler):
    """Counts XLA compilations of jitted functions named `name` (jax_log_compiles)."""

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
    logger.addHandler(counter)
    level = logger.level
    logger.setLevel(logging.WARNING)
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
        logger.setLevel(level)
    return len(counter.seconds), sum(counter.seconds)


def step_rate(step, state, batch, repeats: int, calls: int) -> tuple[float, float]:
    """(steps per second, FLOPs per step by XLA's cost analysis) of one jitted step."""
    jitted = jax.jit(step)
    key = jax.random.key(0)
    compiled = jitted.lower(state, batch, key).compile()
    flops = float(compiled.cost_analysis().get("flops", 0.0))
    jax.block_until_ready(jitted(state, batch, key))

    def run():
        s = state
        for _ in range(calls):
            s, _ = jitted(s, batch, key)
        jax.block_until_ready(s)

    return calls / best_time(run, repeats), flops


def conv_autoencoder_step():
    from genjax.models.autoencoder import ConvAutoencoder

    model = ConvAutoencoder(image_shape=(28, 28, 1), latent_dim=20)
    x = jax.random.uniform(jax.random.key(0), (BATCH, 784))
    params = model.init(jax.random.key(1), x[:1])["params"]
    tx = optax.adam(1e-3)
    step = make_train_step(make_reconstruction_loss(model, likelihood="bernoulli"), tx)
    return step, TrainState.create(params, tx), x


def dcgan_step():
    from genjax.nn.gan import make_gan_nets
    from genjax.train.gan import GANObjective, init_gan, make_gan_step

    generator, discriminator = make_gan_nets(
        "dcgan", data_dim=784, image_shape=(28, 28, 1), output_activation="sigmoid"
    )
    objective = GANObjective(generator, discriminator, latent_dim=64, loss="non_saturating")
    g_tx, d_tx = optax.adam(2e-4, b1=0.5), optax.adam(2e-4, b1=0.5)
    x = jax.random.uniform(jax.random.key(0), (BATCH, 784))
    state = init_gan(objective, jax.random.key(1), x[0], g_tx, d_tx)
    return make_gan_step(objective, g_tx, d_tx), state, x


def run(config: Config) -> dict:
    device = None if config.device == "auto" else jax.devices(config.device)[0]
    with jax.default_device(device):
        return _measure(config, device or jax.devices()[0])


def _measure(config: Config, device) -> dict:
    quick, repeats = config.quick, config.repeats
    results: dict = {
        "device": f"{device.platform}: {device.device_kind}",
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "batch": BATCH,
    }
    peak = matmul_peak(1024 if quick else 2048, repeats)
    results["peak_gflops"] = peak
    rows = [("float32 matmul peak", None, peak, 1.0)]

    step, init, tx, x = reference_vae()
    params = init(jax.random.key(0))
    weights = count_params(params)
    vae_flops = 6 * BATCH * weights
    results.update(vae_weights=weights, vae_flops_per_step=vae_flops)
    steps = 50 if quick else 1000
    for steps_per_call in (1, 100, 1000):
        k = min(steps_per_call, steps)
        rate = fit_rate(
            step,
            TrainState.create(params, tx),
            x,
            jax.random.key(0),
            steps=steps if k > 1 else steps // 5,
            steps_per_call=k,
            repeats=repeats,
        )
        gflops = rate * vae_flops / 1e9
        results[f"vae_steps_per_second_spc{steps_per_call}"] = rate
        results[f"vae_peak_fraction_spc{steps_per_call}"] = gflops / peak
        rows.append((f"VAE via fit, steps_per_call={steps_per_call}", rate, gflops, gflops / peak))

    members = 8
    keys = jax.random.split(jax.random.key(1), members)
    population = init_population(init, tx, keys)
    pop_steps = 20 if quick else 300
    pop_rate = fit_rate(
        step,
        population,
        x,
        keys,
        steps=pop_steps,
        steps_per_call=pop_steps // 2,
        repeats=repeats,
        population=True,
    )
    single_rate = fit_rate(
        step,
        TrainState.create(params, tx),
        x,
        jax.random.key(0),
        steps=pop_steps,
        steps_per_call=pop_steps // 2,
        repeats=repeats,
    )
    speedup = pop_rate * members / single_rate  # 8 sequential runs take 8/single_rate per step
    results.update(
        population_members=members, population_steps_per_second=pop_rate, population_speedup=speedup
    )
    pop_gflops = pop_rate * members * vae_flops / 1e9
    rows.append(
        (
            f"{members} VAEs vmapped (member-steps/s)",
            pop_rate * members,
            pop_gflops,
            pop_gflops / peak,
        )
    )
    rows.append(
        (
            f"{members} VAEs one after another (member-steps/s)",
            single_rate,
            single_rate * vae_flops / 1e9,
            single_rate * vae_flops / 1e9 / peak,
        )
    )

    compiles, compile_seconds = count_fit_compiles(
        make_train_step(make_vae_loss(VAE(784, 20, (400,))), tx),  # a new step: no cache
        TrainState.create(params, tx),
        x,
        steps=1000,
    )
    results.update(fit_1000_steps_compiles=compiles, fit_compile_seconds=compile_seconds)

    calls = 3 if quick else 30
    for name, build in (
        ("conv autoencoder step", conv_autoencoder_step),
        ("DCGAN step (1 D + 1 G update)", dcgan_step),
    ):
        step_fn, state, batch = build()
        rate, flops = step_rate(step_fn, state, batch, repeats, calls)
        gflops = rate * flops / 1e9
        key = name.split(" step")[0].replace(" ", "_").lower()
        results[f"{key}_steps_per_second"] = rate
        results[f"{key}_peak_fraction"] = gflops / peak
        rows.append((name, rate, gflops, gflops / peak))

    os.makedirs(config.workdir, exist_ok=True)
    with open(os.path.join(config.workdir, "benchmark.json"), "w") as f:
        json.dump(to_jsonable(results), f, indent=2, sort_keys=True)
    print(format_table(rows, results))
    return results


def format_table(rows, results) -> str:
    lines = [
        f"device: {results['device']} ({results['cpu_count']} CPUs visible), jax {results['jax']}",
        f"VAE FLOPs/step = 6 x batch {BATCH} x {results['vae_weights']:,} weights",
        "",
        f"| {'measurement':<48} | {'steps/s':>9} | {'GFLOP/s':>8} | {'of peak':>7} |",
        f"| {'-' * 48} | {'-' * 9}: | {'-' * 8}: | {'-' * 7}: |",
    ]
    for name, rate, gflops, fraction in rows:
        rate_text = "" if rate is None else f"{rate:,.1f}"
        lines.append(f"| {name:<48} | {rate_text:>9} | {gflops:>8,.1f} | {fraction:>7.0%} |")
    lines += [
        "",
        f"population speed-up over sequential: {results['population_speedup']:.2f}x",
        f"1000-step fit: {results['fit_1000_steps_compiles']} compile(s) of the training "
        f"program, {results['fit_compile_seconds']:.2f} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    cli(Config, run)
