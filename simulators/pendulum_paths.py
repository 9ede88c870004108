"""The pendulum's per-frame parameters (drift, damping switches, parameter-change events) and state jumps (kicks,
teleports): what ``Pendulum.simulate`` integrates besides its per-sequence draws."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .events import EventLabels, draw_event
from .schedule import drift_path, side_rng, switch_path

COLUMNS = {"l": 1, "g": 2, "gamma": 3}  # per-frame state column -> index in (m, l, g, γ)
UNITS = {"g": "m/s²", "l": "m", "gamma": "1/s"}


def varying_columns(config) -> list[tuple[str, str]]:
    """(name, unit) of the parameters that drift or switch under ``config``, in the order g, l, γ (events add
    none: an event dataset keeps the state columns of the normal data)."""
    varies = {
        "g": config.drift == "gravity",
        "l": config.drift == "length",
        "gamma": config.damping_switch_rate > 0,
    }
    return [(name, UNITS[name]) for name, on in varies.items() if on]


def longest_factor(config) -> float:
    """How much longer than its drawn length the rod can get within a sequence (by drift; length events only
    shorten it)."""
    return max(config.drift_factor[1], 1.0) if config.drift == "length" else 1.0


def _schedule(config, rng: np.random.Generator, p0: np.ndarray, n_frames: int, dt: float) -> np.ndarray:
    """One sequence's (T, 4) parameters from its draws p0 (4,) = m, l, g, γ: drift, then damping switches."""
    path = np.repeat(p0[None], n_frames, axis=0)
    if not config.drift and config.damping_switch_rate <= 0:
        return path
    side = side_rng(rng)
    factor = side.uniform(*config.drift_factor)  # drawn even without drift: switches keep their draws
    if config.drift:
        i = COLUMNS["g" if config.drift == "gravity" else "l"]
        path[:, i] = drift_path(p0[i], factor, n_frames)
    path[:, 3] = switch_path(side, p0[3], config.damping, config.damping_switch_rate, n_frames, dt)
    return path


def parameter_paths(
    system, rngs: Sequence[np.random.Generator], params: np.ndarray, n_frames: int, dt: float
):
    """Per-frame parameters and event jumps of a batch.

    Args:
        system: the Pendulum (its config and event kinds).
        rngs: one generator per trajectory (only their side streams are drawn from).
        params: (N, 4) drawn m, l, g, γ.

    Returns:
        paths (N, T, 4) parameters held over [t, t + Δt); jumps (N, T, 2) added to (θ, θ̇) at the event frame,
        or None; the EventLabels (see ``events.py``), or None without events.
    """
    c = system.config
    paths = np.stack([_schedule(c, rng, p, n_frames, dt) for rng, p in zip(rngs, params)])
    if not system.event_kinds:
        return paths, None, None
    events = [draw_event(rng, c.events, system.event_kinds, n_frames, "pendulum.events") for rng in rngs]
    jumps = np.zeros((len(rngs), n_frames, 2))
    for i, e in enumerate(events):
        if e.kind in ("kick", "teleport"):
            jumps[i, e.frame, int(e.kind == "kick")] = e.size
        elif e.kind in ("gravity", "length"):
            paths[i, e.frame :, COLUMNS[e.kind[0]]] *= e.size
    return paths, jumps, EventLabels.of(events, n_frames)
