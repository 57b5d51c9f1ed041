"""The run contract every experiment script follows.

    python experiments/<name>.py --workdir runs/x [--steps N] [--seed S] ...

writes into the workdir `config.json` (the full config), `metrics.jsonl` (one JSON object per
logged step, each with "step"), `summary.json` (final numbers, flat keys), PNG figures and
`checkpoints/`. Re-running the same command on the same workdir resumes from the newest
checkpoint and appends to `metrics.jsonl` without repeating steps. One process at a time
may use a workdir (an advisory lock, released when the process ends, even by SIGKILL).
Errors a user can fix (bad flags or data, a diverged run, an interrupt) end the command with
one line on stderr; set GENJAX_TRACEBACK=1 to see the traceback instead.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import shutil
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import jax
import numpy as np

from genjax.checkpoint import Checkpointer

Config = TypeVar("Config")


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """Flags every training experiment shares; experiments subclass it with their own."""

    workdir: str = "runs/default"
    """Directory for config.json, metrics.jsonl, summary.json, figures and checkpoints."""
    dataset: str = "digits"
    """Dataset name (see genjax.data.LOADERS); digits is embedded and works offline."""
    data_dir: str | None = None
    """Directory with local dataset files (e.g. MNIST IDX files) for offline use."""
    seed: int = 0
    """Seed of the parameter initialization, batch order and noise."""
    steps: int = 3000
    """Total training steps (a resumed run continues up to this number)."""
    batch_size: int = 64
    learning_rate: float = 1e-3
    steps_per_call: int = 100
    """Training steps compiled into one jit call; the host logs between calls."""
    checkpoint_every: int = 1000
    """Steps between checkpoints (rounded up to a multiple of steps_per_call)."""
    keep: int = 3
    """Newest checkpoints kept."""
    overwrite: bool = False
    """Delete an existing workdir instead of resuming from it."""
    progress: bool = True
    """Show a progress bar."""
    skip_nonfinite: bool = False
    """Skip updates whose gradients are not finite instead of stopping the run."""

    def __post_init__(self):
        for name in ("steps", "batch_size", "steps_per_call", "checkpoint_every", "keep"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}"
                )
        if not self.learning_rate > 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")


def optimizer(config: BaseConfig, tx=None):
    """`tx` (default: Adam at `config.learning_rate`), wrapped by `optax.apply_if_finite`
    when `config.skip_nonfinite`, so non-finite updates are dropped rather than applied."""
    import optax

    tx = optax.adam(config.learning_rate) if tx is None else tx
    return optax.apply_if_finite(tx, max_consecutive_errors=100) if config.skip_nonfinite else tx


def train(wd: Workdir, config: BaseConfig, step, state, data, key, *, population: bool = False):
    """Resume `state` from the workdir's newest checkpoint if any, then `fit` it up to
    `config.steps`, logging to metrics.jsonl and checkpointing on the way.

    A checkpoint holds `{"state": state, "key": key data}`: the base key is saved beside
    the state; the batch order and noise of every step derive from it and the step.
    """
    from genjax.train.loop import fit

    key_data = jax.random.key_data(key)
    saved = wd.restore_or({"state": state, "key": key_data})
    if not np.array_equal(saved["key"], key_data):
        raise ValueError(f"{wd.path}: the checkpoint's base key differs from this run's seed")

    def save(step_number, state):
        wd.save(step_number, {"state": state, "key": key_data})

    state, _ = fit(
        step,
        saved["state"],
        data,
        key,
        num_steps=config.steps,
        batch_size=config.batch_size,
        steps_per_call=config.steps_per_call,
        workdir=types.SimpleNamespace(log=wd.log, save=save),
        checkpoint_every=config.checkpoint_every,
        population=population,
        skip_nonfinite=config.skip_nonfinite,
        progress=config.progress,
    )
    return state


def to_jsonable(value: Any) -> Any:
    """Numbers, arrays and nested containers as plain JSON values (NaN -> null)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):
        return to_jsonable(np.asarray(value).tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json_atomically(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(to_jsonable(obj), f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


LOCK_FILE = ".lock"

# Fields that may change when a run is resumed: train longer, lower the learning rate or skip
# non-finite updates after a divergence, log or checkpoint at another pace.
RESUMABLE_FIELDS = frozenset(
    {
        "workdir",
        "overwrite",
        "progress",
        "steps",
        "learning_rate",
        "skip_nonfinite",
        "steps_per_call",
        "checkpoint_every",
        "keep",
    }
)


# Locks this process holds: path -> [open file, number of Workdirs using it]. The lock is
# re-entrant within a process (a notebook or test may open one workdir several times) and
# exclusive between processes.
_HELD_LOCKS: dict[str, list] = {}


def _acquire(path: str) -> None:
    """Take the exclusive advisory lock at `path`, or raise a ValueError naming its holder.
    The kernel drops the lock when the process ends, however it ends."""
    if path in _HELD_LOCKS:
        _HELD_LOCKS[path][1] += 1
        return
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise ValueError(
            f"{os.path.dirname(path)} is in use by another process (pid {owner}); "
            "wait for it to finish or use another --workdir"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    _HELD_LOCKS[path] = [handle, 1]


def _release(path: str) -> None:
    if path in _HELD_LOCKS:
        _HELD_LOCKS[path][1] -= 1
        if _HELD_LOCKS[path][1] == 0:
            _HELD_LOCKS.pop(path)[0].close()


def _clear(directory: str, *, keep: str) -> None:
    for name in os.listdir(directory):
        if name != keep:
            path = os.path.join(directory, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


class Workdir:
    """One run's directory: config check, metrics log, checkpoints, summary and figures."""

    def __init__(
        self, path: str | os.PathLike, config: Any, *, overwrite: bool = False, keep: int = 3
    ):
        self.path = os.path.abspath(path)
        os.makedirs(self.path, exist_ok=True)
        self._lock_path = os.path.join(self.path, LOCK_FILE)
        _acquire(self._lock_path)
        try:
            if overwrite:
                _clear(self.path, keep=LOCK_FILE)
            self.config = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
            fields = dataclasses.fields(config) if dataclasses.is_dataclass(config) else ()
            self._defaults = {
                f.name: to_jsonable(f.default)
                for f in fields
                if f.default is not dataclasses.MISSING
            }
            self._check_config()
            self.checkpoints = Checkpointer(self.file("checkpoints"), keep=keep)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release this Workdir's hold on the lock (the process's last hold frees it)."""
        if self._lock_path is not None:
            _release(self._lock_path)
            self._lock_path = None

    def __enter__(self) -> Workdir:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def file(self, name: str) -> str:
        """The path of `name` inside the workdir (figures, extra outputs)."""
        return os.path.join(self.path, name)

    def _check_config(self) -> None:
        path = self.file("config.json")
        config = to_jsonable(self.config)
        if os.path.exists(path):
            with open(path) as f:
                previous = json.load(f)
            # a field added to the config since that run had its default value there
            previous = {**self._defaults, **previous}
            differ = sorted(
                k
                for k in set(previous) | set(config)
                if k not in RESUMABLE_FIELDS and previous.get(k) != config.get(k)
            )
            if differ:
                detail = ", ".join(f"{k}: {previous.get(k)!r} -> {config.get(k)!r}" for k in differ)
                raise ValueError(
                    f"{self.path} holds a run with another config ({detail}); "
                    "use another --workdir, or --overwrite to replace it"
                )
        _write_json_atomically(path, config)

    # --- metrics -------------------------------------------------------------------------
    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append one JSON object `{"step": step, **metrics}` to metrics.jsonl."""
        with open(self.file("metrics.jsonl"), "a") as f:
            f.write(json.dumps(to_jsonable({"step": int(step), **metrics})) + "\n")

    def read_metrics(self) -> list[dict]:
        path = self.file("metrics.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def _truncate_metrics(self, last_step: int) -> None:
        """Drop logged steps after `last_step` (written after the checkpoint we resume from)."""
        kept = [m for m in self.read_metrics() if m["step"] <= last_step]
        tmp = self.file("metrics.jsonl.tmp")
        with open(tmp, "w") as f:
            f.writelines(json.dumps(m) + "\n" for m in kept)
        os.replace(tmp, self.file("metrics.jsonl"))

    # --- checkpoints ---------------------------------------------------------------------
    def restore_or(self, state: Any) -> Any:
        """The newest checkpoint shaped like `state`, or `state` itself on a fresh run."""
        step = self.checkpoints.latest_step()
        if step is None:
            if os.path.exists(self.file("metrics.jsonl")):
                os.remove(self.file("metrics.jsonl"))
            return state
        self._truncate_metrics(step)
        return self.checkpoints.restore(state, step)

    def save(self, step: int, state: Any) -> None:
        self.checkpoints.save(int(step), state)

    # --- summary ---------------------------------------------------------------------------
    def write_summary(self, summary: Mapping[str, Any]) -> dict:
        _write_json_atomically(self.file("summary.json"), summary)
        return dict(summary)


def cli(config_type: type[Config], run: Callable[[Config], Any]) -> Any:
    """Parse `config_type`'s fields as flags with tyro (`--help` lists them) and run.

    A user-fixable error ends the process with one line on stderr (exit 1; 130 after an
    interrupt, whose checkpoint lets the same command resume).
    """
    import tyro

    from genjax.data import DatasetUnavailableError
    from genjax.train.loop import DivergenceError

    try:
        return run(tyro.cli(config_type))
    except KeyboardInterrupt as err:
        if os.environ.get("GENJAX_TRACEBACK"):
            raise
        detail = str(err) or "interrupted"
        print(f"{detail}; run the same command again to resume", file=sys.stderr)
        sys.exit(130)
    except (ValueError, FileNotFoundError, DatasetUnavailableError, DivergenceError) as err:
        if os.environ.get("GENJAX_TRACEBACK"):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
