"""Watching a GAN for equilibrium: the discriminator's accuracy over a moving window.

At the equilibrium of the minimax game `p_g = p_data` and the best discriminator can do no
better than chance, so the rule of thumb is to stop once D is about 50 % accurate. One
logged accuracy is noisy; `ConvergenceMonitor` averages the last `window` logged values
and declares convergence once that average (over a full window) has stayed within
`target ± tolerance` for `patience` consecutive logs. It works on the host, on the rows
`fit` logs (a population's rows hold one value per member; all members must converge).

A D accuracy near 50 % is necessary, not sufficient: at the very start both players are
random and D is at chance too, and a generator that collapsed onto a few modes can fool a
weak discriminator, so read it together with the sample diagnostics.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last `window` entries along axis 0 (fewer at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    values = np.asarray(values, np.float64)
    cumulative = np.cumsum(values, axis=0)
    out = cumulative.copy()
    out[window:] = cumulative[window:] - cumulative[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return out / counts.reshape((-1,) + (1,) * (values.ndim - 1))


class ConvergenceMonitor:
    """Feed it logged rows with `update(row)`; `converged` turns True (and `converged_at`
    holds the step) once the windowed mean of `row[metric]` stayed in
    `[target − tolerance, target + tolerance]` for `patience` consecutive rows. Rows up to
    `start_step` are ignored (the early phase, when both players are still random)."""

    def __init__(
        self,
        *,
        window: int = 5,
        tolerance: float = 0.05,
        patience: int = 3,
        target: float = 0.5,
        metric: str = "d_accuracy",
        start_step: int = 0,
    ):
        if window < 1 or patience < 1 or not tolerance > 0:
            raise ValueError(
                f"window and patience must be >= 1 and tolerance > 0, got {window}, "
                f"{patience}, {tolerance}"
            )
        self.window, self.tolerance, self.patience = window, tolerance, patience
        self.target, self.metric, self.start_step = target, metric, start_step
        self._recent: deque = deque(maxlen=window)
        self._in_band: np.ndarray | None = None  # consecutive in-band rows, per member
        self.steps: list[int] = []
        self.averages: list[np.ndarray] = []
        self.converged_at: int | None = None

    @property
    def converged(self) -> bool:
        return self.converged_at is not None

    def update(self, row: dict) -> bool:
        """Take one logged row (with `step` and the metric); returns `converged`."""
        if self.metric not in row:
            raise ValueError(f"logged row lacks {self.metric!r}; it has {sorted(row)}")
        if row["step"] <= self.start_step:
            return self.converged
        self._recent.append(np.asarray(row[self.metric], np.float64))
        average = np.mean(np.stack(self._recent), axis=0)
        full = len(self._recent) == self.window  # judge only full windows
        in_band = full & (np.abs(average - self.target) <= self.tolerance)
        previous = np.zeros_like(in_band, int) if self._in_band is None else self._in_band
        self._in_band = np.where(in_band, previous + 1, 0)
        self.steps.append(int(row["step"]))
        self.averages.append(average)
        if not self.converged and np.all(self._in_band >= self.patience):
            self.converged_at = int(row["step"])
        return self.converged
