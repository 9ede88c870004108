"""Fixed-step RK4 over a batch of trajectories, with inputs held constant over each frame interval."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Rhs = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def substeps(dt: float, max_step: float) -> int:
    """RK4 sub-steps per frame interval: ceil(dt / max_step), at least 1."""
    return max(1, math.ceil(dt / max_step - 1e-9))


def rk4_frames(
    rhs: Rhs,
    y0: np.ndarray,
    params: np.ndarray,
    n_frames: int,
    dt: float,
    max_step: float,
    u: np.ndarray | None = None,
    jumps: np.ndarray | None = None,
) -> np.ndarray:
    """Integrate dy/dt = rhs(y, params, u) for N trajectories and sample every dt.

    Args:
        rhs: vectorized right-hand side, (N, S), (N, P), (N, U) or None -> (N, S).
        y0: (N, S) initial states.
        params: (N, P) per-trajectory parameters.
        n_frames: T; frame 0 is y0.
        dt: time between frames.
        max_step: largest RK4 sub-step (sub-steps per frame: ceil(dt / max_step)).
        u: (N, T, U) inputs, u[:, t] applied over [t·dt, (t+1)·dt), or None.
        jumps: (N, T, S) added to the state at frame t before it is recorded (an instantaneous kick), or None.

    Returns:
        (N, T, S) states at the frame times.
    """
    n_sub = substeps(dt, max_step)
    h = dt / n_sub
    out = np.empty((*y0.shape[:1], n_frames, y0.shape[1]))
    y = np.array(y0, dtype=np.float64)
    for t in range(n_frames):
        if jumps is not None:
            y = y + jumps[:, t]
        out[:, t] = y
        if t == n_frames - 1:
            break
        ut = None if u is None else u[:, t]
        for _ in range(n_sub):
            k1 = rhs(y, params, ut)
            k2 = rhs(y + 0.5 * h * k1, params, ut)
            k3 = rhs(y + 0.5 * h * k2, params, ut)
            k4 = rhs(y + h * k3, params, ut)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out
