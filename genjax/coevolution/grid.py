"""The toroidal grid: cells, their neighbourhoods, and the cell axis sharded over devices.

A grid of shape `(H, W)` holds `N = H·W` cells in row-major order: cell `c = r·W + q` sits
at row `r`, column `q`. Every per-cell quantity is a pytree whose leaves carry a leading
cell axis `[N, ...]`. The neighbourhood of a cell is the cell itself and its four von
Neumann neighbours on the torus, in the fixed slot order

    slot 0: (r, q)   1: (r−1, q) north   2: (r+1, q) south   3: (r, q−1) west   4: (r, q+1) east

with indices taken mod `H` and mod `W` (the grid wraps, so a corner's north neighbour is in
the bottom row). `neighbourhood(tree, grid_shape)` builds `[N, 5, ...]` from `[N, ...]` with
`jnp.roll` over the grid's two axes: the exchange is a shift of the whole grid, one shift
per direction, never an index loop over cells.

Many devices: `cell_mesh(num_devices)` is a one-axis `Mesh` named `"pop"`, and
`shard_cells(tree, mesh)` places every `[N, ...]` leaf with its cell axis split over that
axis (each device owns `N / num_devices` consecutive cells). Inside `jit`, the rolls of
sharded arrays are partitioned by XLA into collective permutes between the devices that
own neighbouring rows / columns (a "sharded roll"); the program, and therefore the result
up to float reassociation, is the same on one device and on many.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

NEIGHBOURHOOD_SIZE = 5
# (row shift, column shift) of each slot's cell relative to the centre.
OFFSETS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
AXIS = "pop"


def check_grid_shape(grid_shape: tuple[int, int]) -> tuple[int, int]:
    """`grid_shape` as `(H, W)` ints, or a ValueError."""
    shape = tuple(int(s) for s in grid_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"a grid shape is (rows, columns) >= 1, got {tuple(grid_shape)}")
    return shape


def parse_grid(text: str) -> tuple[int, int]:
    """`"3x3" -> (3, 3)`."""
    try:
        rows, columns = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"a grid is written ROWSxCOLUMNS, e.g. 3x3, got {text!r}") from None
    return check_grid_shape((rows, columns))


def neighbour_indices(grid_shape: tuple[int, int]) -> np.ndarray:
    """`[N, 5]` int: the cells in each cell's neighbourhood (slot order above), on the torus."""
    rows, columns = check_grid_shape(grid_shape)
    r, q = np.divmod(np.arange(rows * columns), columns)  # [N], [N]
    return np.stack(
        [((r + dr) % rows) * columns + (q + dq) % columns for dr, dq in OFFSETS], axis=1
    )


def _shifted(leaf: jax.Array, grid_shape: tuple[int, int], dr: int, dq: int) -> jax.Array:
    """`out[c] = leaf[cell at (r + dr, q + dq)]`: the grid rolled by `(−dr, −dq)`."""
    rows, columns = grid_shape
    grid = leaf.reshape(rows, columns, *leaf.shape[1:])  # [H, W, ...]
    grid = jnp.roll(grid, (-dr, -dq), axis=(0, 1))
    return grid.reshape(leaf.shape)


def neighbourhood(tree: Any, grid_shape: tuple[int, int]) -> Any:
    """`[N, ...]` leaves -> `[N, 5, ...]`: slot `k` of cell `c` holds the value of the cell
    `neighbour_indices(grid_shape)[c, k]`, exchanged with `jnp.roll` over the grid."""
    grid_shape = check_grid_shape(grid_shape)

    def gather(leaf):
        if jnp.shape(leaf)[:1] != (grid_shape[0] * grid_shape[1],):
            raise ValueError(
                f"a grid leaf needs a leading cell axis of {grid_shape[0] * grid_shape[1]}, "
                f"got shape {jnp.shape(leaf)}"
            )
        return jnp.stack([_shifted(leaf, grid_shape, dr, dq) for dr, dq in OFFSETS], axis=1)

    return jax.tree.map(gather, tree)


def cell_mesh(num_devices: int | None = None) -> Mesh:
    """A one-axis mesh `("pop",)` over the first `num_devices` devices (default: all)."""
    devices = jax.devices()
    num_devices = len(devices) if num_devices is None else num_devices
    if not 1 <= num_devices <= len(devices):
        raise ValueError(f"num_devices must be in [1, {len(devices)}], got {num_devices}")
    return Mesh(np.array(devices[:num_devices]), (AXIS,))


def cell_sharding(mesh: Mesh) -> NamedSharding:
    """The cell axis split over the mesh's `"pop"` axis, the rest replicated."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def shard_cells(tree: Any, mesh: Mesh, num_cells: int) -> Any:
    """Place `tree` on `mesh`: leaves with a leading axis of `num_cells` split over
    `"pop"`, every other leaf (e.g. the epoch counter) replicated."""
    if num_cells % mesh.size:
        raise ValueError(
            f"{num_cells} cells do not split evenly over {mesh.size} devices; use a grid "
            "whose cell count is a multiple of the device count"
        )
    split, replicated = cell_sharding(mesh), NamedSharding(mesh, PartitionSpec())

    def place(leaf):
        is_cells = jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == num_cells
        return jax.device_put(leaf, split if is_cells else replicated)

    return jax.tree.map(place, tree)


def constrain_cells(tree: Any, mesh: Mesh | None, num_cells: int) -> Any:
    """Inside `jit`: `with_sharding_constraint` of every `[N, ...]` leaf to the cell
    sharding (a no-op without a mesh)."""
    if mesh is None:
        return tree
    split = cell_sharding(mesh)

    def constrain(leaf):
        if jnp.ndim(leaf) >= 1 and jnp.shape(leaf)[0] == num_cells:
            return jax.lax.with_sharding_constraint(leaf, split)
        return leaf

    return jax.tree.map(constrain, tree)
