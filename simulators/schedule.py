"""Per-frame physical parameters: a slow drift within a sequence, and random switches (two time scales).

A parameter path holds one value per frame; the value at frame t acts over the interval [t·Δt, (t+1)·Δt), like a
torque held over a frame interval, so the integrator stays exact for the stated piecewise-constant path.

Draws come from a side stream of each trajectory's generator (``side_rng``), never from the generator itself:
switching a schedule on or off leaves every other draw of the sequence (parameters, initial state, torques,
colours, noise) as it was.
"""

from __future__ import annotations

import numpy as np

SIDE_TAG = 0x5EED  # appended to a trajectory's seed entropy to derive its side stream


def side_rng(rng: np.random.Generator, tag: int = SIDE_TAG) -> np.random.Generator:
    """A generator derived from ``rng``'s seed (not from its state): drawing from it leaves ``rng`` untouched.

    Raises:
        ValueError: ``rng`` was not built from a seed sequence (``np.random.default_rng(seed)`` always is).
    """
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(seq, np.random.SeedSequence):
        raise ValueError(
            "schedules and events need generators built from a seed (np.random.default_rng(seed))"
        )
    entropy = np.atleast_1d(seq.entropy).tolist() if seq.entropy is not None else []
    return np.random.default_rng(np.random.SeedSequence([*entropy, *seq.spawn_key, tag]))


def drift_path(p0: float, factor: float, n_frames: int) -> np.ndarray:
    """A parameter moving linearly in time from ``p0`` at frame 0 to ``p0 · factor`` at the last frame: (T,)."""
    tau = np.arange(n_frames) / max(n_frames - 1, 1)
    return p0 * (1.0 + (factor - 1.0) * tau)


def switch_path(
    rng: np.random.Generator, first: float, bounds: tuple[float, float], rate: float, n_frames: int, dt: float
) -> np.ndarray:
    """A parameter that jumps at the events of a Poisson process of ``rate`` (1/s) to a new value U(bounds).

    A switch at time s takes effect from the first frame at or after s; frame t holds the value of the latest
    switch at or before t·Δt (``first`` before any). Returns (T,).
    """
    path = np.full(n_frames, float(first))
    if rate <= 0:
        return path
    end, s = (n_frames - 1) * dt, 0.0
    while True:
        s += rng.exponential(1.0 / rate)
        if s > end:
            return path
        path[int(np.ceil(s / dt - 1e-9)) :] = rng.uniform(*bounds)
