"""Co-evolution epochs on a small fixed problem: the equality test of one versus many
devices and the grid benchmark (epochs per second).

The problem: `grid25` (the 5×5 Gaussian mixture), small MLP pairs, the mode score, and
half of the GAN updates against a neighbour's player (so the exchange is exercised). On
CPU, simulated devices need `XLA_FLAGS=--xla_force_host_platform_device_count=N` before
JAX starts, so a process that has already started JAX runs these in a subprocess:

    genjax.coevolution.benchmark_epochs_subprocess((4, 4), num_devices=8)   # epochs / s
    python -m genjax.coevolution.bench --grid 4x4 --devices 8 --benchmark    # one JSON line
    python -m genjax.coevolution.bench --grid 4x4 --devices 8 --epochs 2 --save out.npz
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from genjax.coevolution.epoch import Coevolution, CoevolutionState, init_grid, make_epoch
from genjax.coevolution.grid import cell_mesh, parse_grid, shard_cells
from genjax.coevolution.scores import mode_score


def _problem(
    grid_shape: tuple[int, int],
    num_devices: int,
    *,
    hidden: Sequence[int],
    steps_per_epoch: int,
    batch_size: int,
    mixture_samples: int,
    seed: int,
):
    from genjax.data.synthetic import MIXTURES, sample_mixture
    from genjax.nn.gan import make_gan_nets
    from genjax.train.gan import GANObjective

    mixture = MIXTURES["grid25"]
    generator, discriminator = make_gan_nets("mlp", data_dim=2, hidden=tuple(hidden))
    objective = GANObjective(generator, discriminator, latent_dim=2)
    mesh = cell_mesh(num_devices) if num_devices > 1 else None
    co = Coevolution(
        objective,
        grid_shape,
        mode_score(mixture.centres, mixture.std),
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        mixture_samples=mixture_samples,
        d_own_probability=0.5,  # exercise training against neighbours as well
        g_own_probability=0.5,
        mesh=mesh,
    )
    x, _ = sample_mixture(mixture, 4096, seed=seed)
    state = init_grid(co, jax.random.key(seed), x[0])
    if mesh is not None:
        state = shard_cells(state, mesh, co.num_cells)
    return co, state, jnp.asarray(x)


def run_grid_epochs(
    grid_shape: tuple[int, int],
    *,
    num_devices: int = 1,
    epochs: int = 2,
    seed: int = 0,
    hidden: Sequence[int] = (32, 32),
    steps_per_epoch: int = 2,
    batch_size: int = 32,
    mixture_samples: int = 128,
) -> tuple[CoevolutionState, list[dict]]:
    """`epochs` epochs of the small problem through `genjax.train.fit`, the cells sharded
    over `num_devices` devices (more than one needs that many JAX devices)."""
    from genjax.train.loop import fit

    co, state, data = _problem(
        grid_shape,
        num_devices,
        hidden=hidden,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        mixture_samples=mixture_samples,
        seed=seed,
    )
    return fit(
        make_epoch(co),
        state,
        data,
        jax.random.key(seed + 1),
        num_steps=epochs,
        batch_size=co.epoch_batch_size,
        steps_per_call=epochs,
        progress=False,
    )


def benchmark_epochs(
    grid_shape: tuple[int, int],
    num_devices: int = 1,
    *,
    epochs: int = 5,
    repeats: int = 3,
    hidden: Sequence[int] = (64, 64),
    steps_per_epoch: int = 10,
    batch_size: int = 64,
    mixture_samples: int = 256,
) -> float:
    """Grid epochs per second (best of `repeats` compiled calls of `epochs` epochs each,
    after one call to compile) on this process's first `num_devices` devices."""
    from genjax.train.loop import make_chunk, make_data_step

    co, state, data = _problem(
        grid_shape,
        num_devices,
        hidden=hidden,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        mixture_samples=mixture_samples,
        seed=0,
    )
    chunk = make_chunk(make_data_step(make_epoch(co), co.epoch_batch_size), epochs)
    key = jax.random.key(1)
    state, metrics = chunk(state, data, key, 0, 10**9)  # compile
    jax.block_until_ready((state, metrics))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        state, metrics = chunk(state, data, key, 0, 10**9)
        jax.block_until_ready((state, metrics))
        seconds.append(time.perf_counter() - start)
    return epochs / min(seconds)


def subprocess_env(num_devices: int) -> dict:
    """The environment of a CPU subprocess that sees `num_devices` simulated devices."""
    env = dict(os.environ)
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "device_count" not in f]
    flags.append(f"--xla_force_host_platform_device_count={num_devices}")
    env.update(XLA_FLAGS=" ".join(flags), JAX_PLATFORMS="cpu")
    return env


def benchmark_epochs_subprocess(
    grid_shape: tuple[int, int], num_devices: int = 1, *, timeout: float = 600, **kwargs
) -> float:
    """`benchmark_epochs` run in a fresh CPU process with `num_devices` simulated devices
    (keyword arguments: `epochs`, `repeats`, `hidden`, `steps_per_epoch`, `batch_size`,
    `mixture_samples`)."""
    command = [
        sys.executable,
        "-m",
        "genjax.coevolution.bench",
        "--grid",
        f"{grid_shape[0]}x{grid_shape[1]}",
        "--devices",
        str(num_devices),
        "--benchmark",
        "--options",
        json.dumps(kwargs),
    ]
    result = subprocess.run(
        command,
        env=subprocess_env(num_devices),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"the benchmark subprocess failed:\n{result.stderr[-2000:]}")
    return float(json.loads(result.stdout.strip().splitlines()[-1])["epochs_per_second"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", default="4x4", help="ROWSxCOLUMNS")
    parser.add_argument("--devices", type=int, default=1, help="devices to shard cells over")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--benchmark", action="store_true", help="print epochs per second")
    parser.add_argument("--options", default="{}", help="JSON keyword arguments")
    parser.add_argument("--save", help="write the final state's leaves to this .npz")
    args = parser.parse_args(argv)
    grid_shape = parse_grid(args.grid)
    options = json.loads(args.options)
    if args.benchmark:
        rate = benchmark_epochs(grid_shape, args.devices, **options)
        print(json.dumps({"grid": args.grid, "devices": args.devices, "epochs_per_second": rate}))
        return
    state, history = run_grid_epochs(
        grid_shape, num_devices=args.devices, epochs=args.epochs, seed=args.seed, **options
    )
    leaves = jax.tree.leaves(jax.device_get(state))
    if args.save:
        np.savez(args.save, *[np.asarray(leaf) for leaf in leaves])
    shardings = {str(getattr(leaf, "sharding", None)) for leaf in jax.tree.leaves(state)}
    print(json.dumps({"devices": len(jax.devices()), "shardings": sorted(shardings)[:3]}))
    print(json.dumps({"history": history}))


if __name__ == "__main__":
    main()
