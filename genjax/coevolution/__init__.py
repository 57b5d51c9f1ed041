"""Lipizzaner-style co-evolutionary GAN training on a toroidal grid of cells (one device or
many): `grid` (torus neighbourhoods, cell sharding), `evolution` (selection, mutation,
mixture ES), `scores` (jit-able quality scores), `epoch` (one compiled epoch), `bench`
(epochs per second, also on simulated devices in a subprocess), `multihost` (many
processes through `jax.distributed.initialize()`).

The names below are imported on first use, so that `python -m genjax.coevolution.multihost`
can call `jax.distributed.initialize()` before any genjax module touches a JAX backend.
"""

import importlib

_EXPORTS = {
    "Coevolution": "epoch",
    "CoevolutionState": "epoch",
    "init_grid": "epoch",
    "make_epoch": "epoch",
    "mixture_samples": "epoch",
    "optimize_mixture": "epoch",
    "learning_rate": "evolution",
    "mixture_es_step": "evolution",
    "mixture_sample": "evolution",
    "mutate_learning_rate": "evolution",
    "select": "evolution",
    "tournament_select": "evolution",
    "with_learning_rate": "evolution",
    "cell_mesh": "grid",
    "neighbour_indices": "grid",
    "neighbourhood": "grid",
    "parse_grid": "grid",
    "shard_cells": "grid",
    "frechet_score": "scores",
    "mmd_score": "scores",
    "mode_score": "scores",
    "benchmark_epochs": "bench",
    "benchmark_epochs_subprocess": "bench",
    "run_grid_epochs": "bench",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
