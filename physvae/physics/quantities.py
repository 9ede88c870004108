"""The physical quantities controllable synthesis can set (``physvae.synthesis``): which system they belong to, their
unit, the probe rows they set and hold, their true value from a dataset's states, and the values those rows must
read for a requested value. Kept here, beside the stated physics, because they name a system's state columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quantity:
    """A quantity one can set: the dataset system it belongs to, its unit, the probe rows it sets and holds."""

    system: str
    unit: str
    sets: tuple[str, ...]
    holds: tuple[str, ...]


QUANTITIES = {
    "angle": Quantity("pendulum", "rad", ("sin_theta", "cos_theta"), ("omega",)),
    "angular_velocity": Quantity("pendulum", "rad/s", ("omega",), ("sin_theta", "cos_theta")),
    "energy": Quantity("pendulum", "J", ("sin_theta", "cos_theta", "omega"), ()),
    "speed": Quantity("balls", "L/T", ("vx0", "vy0"), ("x0", "y0")),
}
LATENT_STATE = {"angle": "theta", "angular_velocity": "omega"}  # quantity -> the physics state it sets


def quantity_truth(name: str, states: np.ndarray, state_names: list[str]) -> np.ndarray:
    """The quantity's true value per frame from states (..., S) -> (...)."""
    col = {n: states[..., i] for i, n in enumerate(state_names)}
    if name == "speed":
        return np.hypot(col["vx0"], col["vy0"])
    return col[{"angle": "theta", "angular_velocity": "omega"}.get(name, name)]


def probe_targets_for(name: str, probe, z: np.ndarray, value: float, params=None) -> dict:
    """What each row the quantity sets must read for ``value``, at latents z (N, D) (``probe``: a
    ``physvae.synthesis.LinearProbe``); ``params`` (N, 4) are the
    pendulums' mass, length, gravity, damping (for the energy)."""
    n = len(z)
    if name == "energy":
        return _energy_state(probe.read(z), value, np.asarray(params, dtype=float))
    if name == "angle":
        return {"sin_theta": np.full(n, np.sin(value)), "cos_theta": np.full(n, np.cos(value))}
    if name == "speed":  # keep the direction the probe reads, change the magnitude
        now = probe.read(z)
        v = np.stack([now["vx0"], now["vy0"]], -1)
        unit = v / np.linalg.norm(v, axis=-1, keepdims=True).clip(min=1e-9)
        return {"vx0": value * unit[:, 0], "vy0": value * unit[:, 1]}
    return {QUANTITIES[name].sets[0]: np.full(n, float(value))}


def _energy_state(now: dict, energy: float, params: np.ndarray) -> dict[str, np.ndarray]:
    """The pendulum state of total energy E nearest the one the probe reads: the same angle and the sign of θ̇
    with |θ̇| = √(2 (E − V(θ)) / (m l²)) where E ≥ V(θ) = m g l (1 − cos θ); else at rest, at the angle of
    potential E on the same side."""
    m, l, g = params[:, 0], params[:, 1], params[:, 2]
    theta = np.arctan2(now["sin_theta"], now["cos_theta"])
    kinetic = energy - m * g * l * (1 - np.cos(theta))
    omega = np.where(now["omega"] < 0, -1.0, 1.0) * np.sqrt(2 * kinetic.clip(min=0) / (m * l**2))
    turning = np.sign(theta) * np.arccos(np.clip(1 - energy / (m * g * l), -1, 1))
    theta = np.where(kinetic >= 0, theta, turning)
    return {
        "sin_theta": np.sin(theta),
        "cos_theta": np.cos(theta),
        "omega": np.where(kinetic >= 0, omega, 0.0),
    }
