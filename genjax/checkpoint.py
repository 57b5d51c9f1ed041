"""Checkpoints of a training-state pytree with orbax: atomic saves, newest-first restore.

Orbax writes each step into a temporary directory and renames it when complete, so a run
killed mid-save leaves the previous checkpoint intact. Nothing is unpickled on restore.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpointer:
    """Saves and restores pytrees under `directory/<step>/`, keeping the newest `keep`."""

    def __init__(self, directory: str | os.PathLike, *, keep: int = 3):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.directory = os.path.abspath(directory)
        self._manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, tree: Any) -> None:
        """Write `tree` as checkpoint `step` (blocking until it is committed)."""
        if step in self._manager.all_steps():
            return
        self._manager.save(step, args=ocp.args.StandardSave(tree))
        self._manager.wait_until_finished()

    def restore(self, template: Any, step: int | None = None) -> Any:
        """The checkpoint `step` (default: newest) with the structure and dtypes of `template`."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
        except Exception as err:
            path = os.path.join(self.directory, str(step))
            raise ValueError(
                f"checkpoint {path} could not be read ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''}); delete it to fall back "
                "to an earlier one, or start a fresh --workdir"
            ) from err

    def close(self) -> None:
        self._manager.close()
