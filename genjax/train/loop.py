"""`fit`: many training steps per compiled call, data resident on the device.

The host dispatches one `jax.jit` call per `steps_per_call` steps; inside it a
`lax.fori_loop` runs the steps, each drawing its minibatch from the device-resident
dataset with a key derived from the step number. Nothing is synced to the host per step:
metrics come back once per call, and the host fetches them only after the next call has
been dispatched, so logging overlaps with compute.

Keys: step `s` uses `fold_in(key, s)`, split into a batch key and a step key, so a run
resumed from a checkpoint at step `s` draws exactly the batches and noise an uninterrupted
run would have drawn.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec, Sharding
from tqdm.auto import tqdm

from genjax.train.state import TrainState
from genjax.train.step import Step


class RunLog(Protocol):
    """What `fit` needs from a workdir (see `genjax.experiment.Workdir`)."""

    def log(self, step: int, metrics: dict) -> None: ...
    def save(self, step: int, state: Any) -> None: ...


class DivergenceError(FloatingPointError):
    """A non-finite loss or gradient norm; the message names the step and quantity."""


def _check_data(data: Any) -> None:
    """A ValueError naming the first floating-point array of `data` that holds NaN or Inf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        if jnp.issubdtype(leaf.dtype, jnp.floating) and not bool(jnp.isfinite(leaf).all()):
            bad = int((~jnp.isfinite(leaf)).reshape(len(leaf), -1).any(axis=1).sum())
            name = jax.tree_util.keystr(path) or "data"
            raise ValueError(f"training data {name} has NaN or Inf in {bad} examples")


def num_examples(data: Any) -> int:
    sizes = {x.shape[0] for x in jax.tree.leaves(data)}
    if len(sizes) != 1:
        raise ValueError(f"all data arrays need the same leading size, got {sorted(sizes)}")
    return sizes.pop()


def sample_batch(key: jax.Array, data: Any, batch_size: int) -> Any:
    """`batch_size` examples drawn uniformly with replacement from every array of `data`.

    With replacement, because a fresh permutation per step would cost a sort of the whole
    dataset inside every step; for SGD the two are equivalent in expectation.
    """
    index = jax.random.randint(key, (batch_size,), 0, num_examples(data))  # [B]
    return jax.tree.map(lambda x: x[index], data)


def make_data_step(step: Step, batch_size: int, batch_sharding: Sharding | None = None):
    """`data_step(state, data, key)`: sample the minibatch of `state.step`, then `step`.

    With `batch_sharding` (e.g. `NamedSharding(mesh, P("data"))`) the minibatch is split
    over the devices along its example axis; XLA's SPMD partitioner then runs the step data
    parallel, all-reducing the gradients. Random numbers do not depend on the sharding
    (partitionable threefry), so results equal the single-device ones up to the order of
    floating-point reductions.
    """

    def data_step(state: TrainState, data: Any, key: jax.Array):
        # On CPU JAX lowers each threefry draw as a small rolled loop; for the 7 draws of a
        # VAE step (these, the minibatch, the noise) that costs ~3% against the unrolled form.
        batch_key, step_key = jax.random.split(jax.random.fold_in(key, state.step))
        batch = sample_batch(batch_key, data, batch_size)
        if batch_sharding is not None:
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
        return step(state, batch, step_key)

    return data_step


def make_chunk(data_step: Callable, steps_per_call: int, *, population: bool = False):
    """A jitted `chunk(state, data, key, start, stop) -> (state, metrics[K])`.

    Runs steps `start, …, min(start + K, stop) − 1` with `K = steps_per_call`; the metrics
    of steps a partial last chunk does not run are zeros. The trip count is a traced value,
    so every chunk, partial or not, reuses one compiled program. The state argument is
    donated: its buffers are reused for the result.
    """
    if population:  # one member per leading index of state and key; data shared
        # Vmapping pays where one model leaves the device idle (a GPU, small models). On the
        # 2-core development CPU one batch-128 VAE already runs at 69% of the matmul peak,
        # and 2 / 4 / 8 vmapped VAEs ran at 1.00 / 0.95 / 0.91x the speed of as many runs
        # one after another: the batched kernels take longer per member than one member's.
        data_step = jax.vmap(data_step, in_axes=(0, None, 0))

    def chunk(state, data, key, start, stop):
        metric_shapes = jax.eval_shape(data_step, state, data, key)[1]
        metrics = jax.tree.map(
            lambda s: jnp.zeros((steps_per_call, *s.shape), s.dtype), metric_shapes
        )  # [K, ...] per metric

        def body(i, carry):
            state, metrics = carry
            state, step_metrics = data_step(state, data, key)
            metrics = jax.tree.map(lambda m, v: m.at[i].set(v), metrics, step_metrics)
            return state, metrics

        # A while loop with a dynamic trip count rather than a fixed-length scan whose body
        # skips inactive steps with `lax.cond`: on XLA:CPU that cond costs ~6% of a VAE
        # step's time (the state is carried through both branches), the loop nothing.
        steps = jnp.clip(stop - start, 0, steps_per_call)
        return jax.lax.fori_loop(0, steps, body, (state, metrics))

    return jax.jit(chunk, donate_argnums=0)


@functools.lru_cache(maxsize=64)
def _cached_chunk(
    step: Step,
    batch_size: int,
    steps_per_call: int,
    population: bool,
    batch_sharding: Sharding | None,
):
    # Keyed on the step function itself: fitting again with the same step (resuming,
    # training longer, benchmarking) reuses the compiled program instead of recompiling.
    data_step = make_data_step(step, batch_size, batch_sharding)
    return make_chunk(data_step, steps_per_call, population=population)


def _place(state: Any, data: Any, key: jax.Array, mesh: Mesh | None, population: bool):
    """Device placement: everything replicated over `mesh`, except a population's leading
    member axis, which is split over the mesh axis "pop" when there is one. Returns
    `(state, data, key, batch_sharding)`; the batch is split over "data" if present."""
    # fit donates the state's buffers to each call; copying first keeps the caller's arrays
    # (say, the params passed to TrainState.create) valid.
    state = jax.tree.map(jnp.copy, state)
    if mesh is None:
        devices = set().union(*(leaf.sharding.device_set for leaf in jax.tree.leaves(state)))
        if len(devices) > 1:  # placed by the caller (e.g. cells over devices): kept as is
            return state, jax.device_put(data), key, None
        # Committed to the state's device, whether the arrays are fresh (uncommitted) or
        # restored from a checkpoint (committed by orbax): both share one compiled program.
        return (*jax.device_put((state, data, key), devices.pop()), None)
    unknown = set(mesh.axis_names) - {"data", "pop"}
    if unknown:
        raise ValueError(f"mesh axes must be 'data' and/or 'pop', got {mesh.axis_names}")
    replicated = NamedSharding(mesh, PartitionSpec())
    members = NamedSharding(mesh, PartitionSpec("pop" if "pop" in mesh.axis_names else None))
    state_sharding = members if population else replicated
    # The constraint applies inside the (vmapped) per-member step: [B, ...] over "data".
    batch = NamedSharding(mesh, PartitionSpec("data")) if "data" in mesh.axis_names else None
    return (
        jax.device_put(state, state_sharding),
        jax.device_put(data, replicated),
        jax.device_put(key, state_sharding),
        batch,
    )


def fit(
    step: Step,
    state: TrainState,
    data: Any,
    key: jax.Array,
    *,
    num_steps: int,
    batch_size: int,
    steps_per_call: int = 100,
    log_every: int | None = None,
    workdir: RunLog | None = None,
    checkpoint_every: int | None = None,
    population: bool = False,
    mesh: Mesh | None = None,
    skip_nonfinite: bool = False,
    progress: bool = True,
) -> tuple[TrainState, list[dict]]:
    """Train `state` up to `num_steps` total steps; returns `(state, history)`.

    Args:
      step: `step(state, batch, key) -> (state, metrics)`, e.g. from `make_train_step`.
      state: the starting state (from scratch or restored); training continues from
        `state.step`. It is copied once, then its copies are donated call to call.
      data: a pytree of arrays with a common leading example axis, e.g. `x` or `(x, y)`.
      key: the run's base key (a stacked `[P]` key array when `population`).
      log_every: steps per logged row (a divisor of `steps_per_call`; default: one row per
        call). A row holds the mean of each metric over its steps.
      workdir: receives `log(step, row)` per row and `save(step, state)` every
        `checkpoint_every` steps (at call boundaries) and at the end.
      population: `state` and `key` carry a leading member axis; the step is vmapped
        over it, sharing the data. Rows then hold one value per member.
      mesh: run on the devices of a `jax.sharding.Mesh` with axes "data" (each minibatch
        split over them: data parallel) and/or "pop" (a population's members split over
        them). Parameters are replicated; results match one device up to float rounding.
      skip_nonfinite: keep training past a non-finite loss (the optimizer is expected to
        skip such updates, e.g. `optax.apply_if_finite`) instead of raising.

    Raises:
      DivergenceError: a logged loss or gradient norm is NaN or infinite.
    """
    if num_steps < 1 or batch_size < 1 or steps_per_call < 1:
        raise ValueError(
            f"num_steps, batch_size and steps_per_call must be >= 1, got "
            f"{num_steps}, {batch_size}, {steps_per_call}"
        )
    start = int(np.ravel(jax.device_get(state.step))[0])
    steps_per_call = min(steps_per_call, num_steps)
    log_every = steps_per_call if log_every is None else log_every
    if steps_per_call % log_every:
        raise ValueError(f"log_every={log_every} must divide steps_per_call={steps_per_call}")

    state, data, key, batch_sharding = _place(state, data, key, mesh, population)
    _check_data(data)
    chunk = _cached_chunk(step, batch_size, steps_per_call, population, batch_sharding)
    history: list[dict] = []

    def record(chunk_start: int, metrics: dict) -> None:
        metrics = jax.device_get(metrics)  # [K, ...] per metric: the one host sync per call
        valid = min(steps_per_call, num_steps - chunk_start)
        if not skip_nonfinite:
            _check_finite(metrics, chunk_start, valid)
        for lo in range(0, valid, log_every):
            hi = min(lo + log_every, valid)
            row = {name: np.mean(v[lo:hi], axis=0) for name, v in metrics.items()}
            row = {k: float(v) if np.ndim(v) == 0 else v.tolist() for k, v in row.items()}
            history.append({"step": chunk_start + hi, **row})
            if workdir is not None:
                workdir.log(chunk_start + hi, row)
        bar.update(valid)
        bar.set_postfix(loss=f"{np.mean(history[-1].get('loss', np.nan)):.4g}")

    bar = tqdm(total=num_steps, initial=start, disable=not progress, unit="step")
    pending = None
    with _deferred_interrupt() as interrupted:
        for chunk_start in range(start, num_steps, steps_per_call):
            chunk_stop = min(chunk_start + steps_per_call, num_steps)
            state, metrics = chunk(state, data, key, chunk_start, num_steps)
            if pending is not None:
                record(*pending)
            pending = (chunk_start, metrics)
            due = (
                checkpoint_every
                and chunk_stop // checkpoint_every > chunk_start // checkpoint_every
            )
            if interrupted() or (workdir is not None and (due or chunk_stop == num_steps)):
                record(*pending)
                pending = None
                if workdir is not None:
                    workdir.save(chunk_stop, state)
            if interrupted():
                bar.close()
                saved = "checkpoint saved" if workdir is not None else "no workdir to save to"
                raise KeyboardInterrupt(f"interrupted at step {chunk_stop} ({saved})")
    if pending is not None:
        record(*pending)
    bar.close()
    return state, history


@contextlib.contextmanager
def _deferred_interrupt():
    """Within the block, SIGINT only sets a flag that the loop polls between calls, so an
    interrupted run stops at a call boundary with a consistent state to checkpoint."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_finite(metrics: dict, chunk_start: int, valid: int) -> None:
    """Raise at the first of the chunk's steps whose loss or gradient norm is not finite."""
    for name in ("loss", "grad_norm"):
        if name not in metrics:
            continue
        values = np.asarray(metrics[name][:valid]).reshape(valid, -1)  # [K, members]
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            first = int(np.argmax(bad))
            raise DivergenceError(
                f"{name} became non-finite ({values[first].tolist()}) at step "
                f"{chunk_start + first + 1}; the last checkpoint before it is intact: resume "
                "with a lower learning rate, or skip non-finite updates (--skip-nonfinite)"
            )
