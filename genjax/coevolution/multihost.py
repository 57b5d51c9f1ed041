"""The grid over many processes (hosts): `jax.distributed.initialize()`, then the same program.

On a cluster every host runs the same command with its own process id:

    python -m genjax.coevolution.multihost --coordinator HOST0:1234 --num-processes P \\
        --process-id i --grid 4x4 --epochs 2

`jax.distributed.initialize(coordinator, P, i)` (on TPU pods and SLURM the arguments are
detected and may be left out) makes `jax.devices()` list the devices of every process;
`cell_mesh()` spans them all, `shard_cells` places each process's share of the cells on its
own devices (every process computes the same initial state from the same seed, so the
replicated values agree), and the compiled epoch exchanges neighbours between hosts with
collective permutes. On CPU the collectives need `jax_cpu_collectives_implementation =
"gloo"`, which lets two processes on localhost exercise the whole path (the test does).
Process 0 gathers the final state (`multihost_utils.process_allgather`) and saves it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coordinator", default=None, help="HOST:PORT of process 0")
    parser.add_argument("--num-processes", type=int, default=None)
    parser.add_argument("--process-id", type=int, default=None)
    parser.add_argument("--grid", default="4x4")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="JSON keyword arguments")
    parser.add_argument("--save", help="process 0 writes the final state's leaves here")
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)

    import jax.numpy as jnp
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding, PartitionSpec

    from genjax.coevolution.bench import _problem
    from genjax.coevolution.epoch import make_epoch
    from genjax.coevolution.grid import parse_grid
    from genjax.train.loop import sample_batch

    options = {
        "hidden": (32, 32),
        "steps_per_epoch": 2,
        "batch_size": 32,
        "mixture_samples": 128,
        **json.loads(args.options),
    }
    co, state, data = _problem(parse_grid(args.grid), len(jax.devices()), seed=args.seed, **options)
    replicated = NamedSharding(co.mesh, PartitionSpec())
    data = jax.device_put(data, replicated)
    epoch = make_epoch(co)
    key = jax.random.key(args.seed + 1)

    @jax.jit
    def run(state, data):
        def body(state, _):  # what fit does per step: the batch and key of `state.step`
            batch_key, step_key = jax.random.split(jax.random.fold_in(key, state.step))
            return epoch(state, sample_batch(batch_key, data, co.epoch_batch_size), step_key)

        return jax.lax.scan(body, state, length=args.epochs)

    state, metrics = run(state, data)
    leaves = multihost_utils.process_allgather(jax.tree.leaves(state), tiled=True)
    print(
        json.dumps(
            {
                "process": jax.process_index(),
                "processes": jax.process_count(),
                "devices": len(jax.devices()),
                "local_devices": len(jax.local_devices()),
                "d_loss": float(
                    jnp.mean(multihost_utils.process_allgather(metrics["d_loss"], tiled=True))
                ),
            }
        )
    )
    if args.save and jax.process_index() == 0:
        np.savez(args.save, *[np.asarray(leaf) for leaf in leaves])
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
