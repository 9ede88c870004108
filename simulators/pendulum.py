"""Damped, optionally torque-driven pendulum: θ̈ = −(g/l) sin θ − γ θ̇ + u(t) / (m l²).

The batch is integrated at once with a vectorized fixed-step RK4 (``max_step`` bounds the sub-step); the torque
u is piecewise constant over each frame interval, so RK4 stays fourth order. The integration error against a
tight-tolerance ``solve_ivp`` is measured in ``tests/test_pendulum.py`` and in the generation benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import ConfigError, interval, non_negative, positive
from .events import PendulumEvents, enabled_kinds, validate_events
from .integrate import rk4_frames, substeps
from .pendulum_paths import COLUMNS, longest_factor, parameter_paths, varying_columns
from .system import Scene, System, Trajectories

INIT_MODES = ("uniform", "phase_radius", "energy")
EVENT_KINDS = ("kick", "teleport", "gravity", "length")
DRIFTS = ("", "gravity", "length")


@dataclass
class PendulumConfig:
    """Pendulum parameters. Ranges are (low, high) pairs drawn uniformly per sequence; equal ends fix a value."""

    mass: tuple[float, float] = (1.0, 1.0)  # bob mass m, kg
    length: tuple[float, float] = (1.0, 1.0)  # rod length l, m
    gravity: tuple[float, float] = (9.81, 9.81)  # g, m/s²
    damping: tuple[float, float] = (0.0, 0.0)  # γ, 1/s (θ̈ gets −γ θ̇)
    init: str = "uniform"  # "uniform": θ₀, θ̇₀ from the ranges below; "phase_radius": DM-suite sampling;
    # "energy": total energy E uniform in ``energy``, θ₀ uniform where V(θ₀) ≤ E, the rest kinetic (random sign)
    theta0: tuple[float, float] = (-math.pi, math.pi)  # initial angle θ₀, rad (0 = hanging down)
    omega0: tuple[float, float] = (-2.0, 2.0)  # initial angular velocity θ̇₀, rad/s
    radius: tuple[float, float] = (1.3, 2.3)  # phase-space radius √(q² + p²), p = m l² θ̇ ("phase_radius")
    energy: tuple[float, float] = (0.0, 0.0)  # initial energy E = ½ m l² θ̇² + m g l (1 − cos θ), J ("energy")
    torque_max: float = 0.0  # motor babbling: torque u ~ U(−max, max) per frame interval, N·m
    bob_radius: float = 0.25  # drawn bob radius, m
    radius_from_mass: bool = False  # draw the bob of area m instead: radius √(m/π) (the DM suite's)
    view: float = 0.0  # half-width of the square the frames show, m (0: the longest rod and the bob, + 5 %)
    phase_columns: bool = False  # also save q (θ unwrapped, rad) and p = m l² θ̇ (the DM suite's state)
    draw_rod: bool = False  # draw the rod from the pivot to the bob
    rod_width: float = 0.08  # drawn rod width, m
    max_step: float = 0.01  # largest RK4 sub-step, s
    drift: str = ""  # "" none, "gravity" or "length": that parameter moves slowly within each sequence
    drift_factor: tuple[float, float] = (1.0, 1.0)  # drift goes linearly from p0 to p0·f, f ~ U(drift_factor)
    damping_switch_rate: float = 0.0  # 1/s: γ jumps at Poisson times to a new value drawn from ``damping``
    events: PendulumEvents = field(default_factory=PendulumEvents)  # anomaly events (simulators/events.py)


class Pendulum(System):
    """A rigid pendulum with its pivot at the origin, θ = 0 hanging straight down, y up."""

    name = "pendulum"
    config_class = PendulumConfig

    def validate(self) -> None:
        c = self.config
        interval("pendulum.mass", c.mass, lower=0, strict=True)
        interval("pendulum.length", c.length, lower=0, strict=True)
        interval("pendulum.gravity", c.gravity, lower=0)
        interval("pendulum.damping", c.damping, lower=0)
        interval("pendulum.theta0", c.theta0)
        interval("pendulum.omega0", c.omega0)
        interval("pendulum.radius", c.radius, lower=0)
        interval("pendulum.energy", c.energy, lower=0)
        if c.init not in INIT_MODES:
            raise ConfigError(f"pendulum.init must be one of {INIT_MODES}, got {c.init!r}")
        non_negative("pendulum.torque_max", c.torque_max)
        positive("pendulum.bob_radius", c.bob_radius)
        non_negative("pendulum.view", c.view)
        positive("pendulum.rod_width", c.rod_width)
        positive("pendulum.max_step", c.max_step)
        if c.drift not in DRIFTS:
            raise ConfigError(f"pendulum.drift must be one of {DRIFTS}, got {c.drift!r}")
        interval("pendulum.drift_factor", c.drift_factor, lower=0, strict=True)
        non_negative("pendulum.damping_switch_rate", c.damping_switch_rate)
        validate_events(c.events, EVENT_KINDS, "pendulum.events")

    @property
    def event_kinds(self) -> list[str]:
        return enabled_kinds(self.config.events, EVENT_KINDS)

    @property
    def _varying(self) -> list[tuple[str, str]]:
        """(name, unit) of the per-frame parameter columns this config saves (only those that vary)."""
        return varying_columns(self.config)

    @property
    def state_names(self) -> list[str]:
        names = ["theta", "omega", "sin_theta", "cos_theta", "x", "y", "energy"]
        names = names + ["q", "p"] if self.config.phase_columns else names
        return names + [n for n, _ in self._varying]

    @property
    def state_units(self) -> list[str]:
        units = ["rad", "rad/s", "1", "1", "m", "m", "J"]
        units = units + ["rad", "kg m²/s"] if self.config.phase_columns else units
        return units + [u for _, u in self._varying]

    @property
    def state_kinds(self) -> list[str]:
        """q unwrapped is still read through its sin and cos (its winding number is in no frame); p = m l² θ̇
        is a velocity: only the dynamics reveal it."""
        kinds = ["angle", "velocity", "derived", "derived", "derived", "derived", "energy"]
        kinds = kinds + ["angle", "velocity"] if self.config.phase_columns else kinds
        return kinds + ["other"] * len(self._varying)

    param_names = property(lambda self: ["mass", "length", "gravity", "damping"])
    param_units = property(lambda self: ["kg", "m", "m/s²", "1/s"])
    reference_names, reference_units = ("natural_frequency", "damping"), ("rad/s", "1/s")
    n_objects = property(lambda self: 1)

    @property
    def input_names(self) -> list[str]:
        return ["torque"] if self.config.torque_max > 0 else []

    def _sample(self, rng: np.random.Generator, n_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.config
        x = rng.random(6 + n_frames + (c.init == "energy"))  # one call: parameters, initial state, torques
        lo, hi = np.array([c.mass, c.length, c.gravity, c.damping]).T
        m, l, g, gamma = lo + (hi - lo) * x[:4]
        if c.init == "uniform":
            theta = c.theta0[0] + (c.theta0[1] - c.theta0[0]) * x[4]
            omega = c.omega0[0] + (c.omega0[1] - c.omega0[0]) * x[5]
        elif c.init == "phase_radius":
            r, phi = c.radius[0] + (c.radius[1] - c.radius[0]) * x[4], 2 * math.pi * x[5]
            theta, omega = r * math.cos(phi), r * math.sin(phi) / (m * l * l)
        else:
            theta, omega = _from_energy(
                c.energy[0] + (c.energy[1] - c.energy[0]) * x[4], m, l, g, x[5], x[-1]
            )
        u = c.torque_max * (2 * x[6 : 6 + n_frames] - 1)
        return np.array([m, l, g, gamma]), np.array([theta, omega]), u

    def simulate(self, rngs: Sequence[np.random.Generator], n_frames: int, dt: float) -> Trajectories:
        draws = [self._sample(rng, n_frames) for rng in rngs]
        params = np.stack([d[0] for d in draws])  # (N, 4)
        y0 = np.stack([d[1] for d in draws])  # (N, 2)
        u = np.stack([d[2] for d in draws])  # (N, T)
        paths, jumps, labels = parameter_paths(self, rngs, params, n_frames, dt)  # (N, T, 4), (N, T, 2), ...
        theta, omega = integrate(paths, y0, u, n_frames, dt, self.config.max_step, jumps)
        states = pendulum_states(theta, omega, paths)
        if self.config.phase_columns:
            p = paths[..., 0] * paths[..., 1] ** 2 * omega  # m l² θ̇
            states = np.concatenate([states, theta[..., None], p[..., None]], axis=-1)
        extra = [paths[..., COLUMNS[name]] for name, _ in self._varying]
        if extra:
            states = np.concatenate([states, np.stack(extra, axis=-1)], axis=-1)
        inputs = u[..., None] if self.config.torque_max > 0 else None
        return Trajectories(states, params, inputs, events=labels)

    def substeps(self, dt: float) -> int:
        return substeps(dt, self.config.max_step)

    def scene(self, traj: Trajectories) -> Scene:
        c = self.config
        bob = traj.states[..., 4:6][:, :, None, :]  # (N, T, 1, 2)
        if c.radius_from_mass:
            radii, largest = np.sqrt(traj.params[:, :1] / math.pi), math.sqrt(c.mass[1] / math.pi)
        else:
            radii, largest = np.full((bob.shape[0], 1), c.bob_radius), c.bob_radius
        half = c.view or 1.05 * (c.length[1] * longest_factor(c) + largest)
        rods = None
        if c.draw_rod:
            rods = np.stack([np.zeros_like(bob), bob], axis=-2)  # (N, T, 1, 2, 2)
        return Scene(
            discs=bob, radii=radii, extent=(-half, half, -half, half), rods=rods, rod_width=c.rod_width
        )

    def reference_dynamics(self, params: np.ndarray) -> np.ndarray:
        """Small-angle frequency ω₀ = √(g/l) and damping γ per sequence: params (N, 4) -> (N, 2)."""
        return np.stack([np.sqrt(params[:, 2] / params[:, 1]), params[:, 3]], axis=1)

    def ood_config(self) -> PendulumConfig:
        """Initial energies above every energy the training ranges can start with ("energy" sampling from the
        training bound E_max to 1.5 E_max), for every parameter draw."""
        top = self.max_initial_energy()
        return replace(self.config, init="energy", energy=(top, top + max(top / 2, 0.1)))

    def max_initial_energy(self) -> float:
        """An upper bound of the initial energy ½ m l² θ̇₀² + m g l (1 − cos θ₀) over the config's ranges, J."""
        c = self.config
        m_hi, l_hi, g_hi = c.mass[1], c.length[1], c.gravity[1]
        if c.init == "energy":
            return c.energy[1]
        if c.init == "uniform":
            kinetic = 0.5 * m_hi * l_hi**2 * max(abs(w) for w in c.omega0) ** 2
            angle = min(math.pi, max(abs(a) for a in c.theta0))
        else:  # p = m l² θ̇ with |p| ≤ r: kinetic p² / (2 m l²) is largest for the lightest, shortest pendulum
            kinetic = c.radius[1] ** 2 / (2 * c.mass[0] * c.length[0] ** 2)
            angle = min(math.pi, c.radius[1])
        return kinetic + m_hi * g_hi * l_hi * (1 - math.cos(angle))


def _from_energy(energy: float, m: float, l: float, g: float, a: float, b: float) -> tuple[float, float]:
    """An initial (θ, θ̇) of total energy ``energy``: θ uniform (from a ∈ [0, 1)) over the angles whose potential
    m g l (1 − cos θ) it can reach, θ̇ of the remaining kinetic energy with the sign drawn from b ∈ [0, 1)."""
    reach = m * g * l * 2
    top = math.pi if energy >= reach else math.acos(1 - energy / (m * g * l))
    theta = top * (2 * a - 1)
    kinetic = max(energy - m * g * l * (1 - math.cos(theta)), 0.0)
    omega = math.copysign(math.sqrt(2 * kinetic / (m * l * l)), b - 0.5)
    return theta, omega


def pendulum_rhs(y: np.ndarray, params: np.ndarray, u: np.ndarray | None) -> np.ndarray:
    """(θ, θ̇) -> (θ̇, −(g/l) sin θ − γ θ̇ + u / (m l²)) for a batch: y (N, 2), params (N, 4), u (N, 1) or None."""
    m, l, g, gamma = params.T
    acc = -(g / l) * np.sin(y[:, 0]) - gamma * y[:, 1]
    if u is not None:
        acc = acc + u[:, 0] / (m * l * l)
    return np.stack([y[:, 1], acc], axis=1)


def _frame_rhs(y: np.ndarray, _, ut: np.ndarray) -> np.ndarray:
    """pendulum_rhs with the frame's torque and parameters carried as inputs: ut (N, 5) = u, m, l, g, γ."""
    return pendulum_rhs(y, ut[:, 1:], ut[:, :1])


def integrate(
    params: np.ndarray,
    y0: np.ndarray,
    u: np.ndarray,
    n_frames: int,
    dt: float,
    max_step: float,
    jumps: np.ndarray | None = None,
):
    """Vectorized RK4 over a batch.

    Args:
        params: (N, 4) mass, length, gravity, damping, or (N, T, 4) per frame, held over [t, t + dt).
        y0: (N, 2) initial θ (rad), θ̇ (rad/s).
        u: (N, T) torque applied over [t, t + dt), N·m.
        n_frames: T, number of frames (the first is the initial state).
        dt: frame interval, s.
        max_step: largest sub-step, s.
        jumps: (N, T, 2) added to (θ, θ̇) at frame t (kicks and teleports), or None.

    Returns:
        theta, omega: (N, T) each.
    """
    per_frame = np.broadcast_to(params[:, None] if params.ndim == 2 else params, (len(y0), n_frames, 4))
    inputs = np.concatenate([u[..., None], per_frame], axis=-1)  # (N, T, 5)
    y = rk4_frames(_frame_rhs, y0, None, n_frames, dt, max_step, inputs, jumps)
    return y[..., 0], y[..., 1]


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles (rad) wrapped to [−π, π)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


def pendulum_states(theta: np.ndarray, omega: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(N, T) angle and velocity -> (N, T, 7) state columns of ``Pendulum.state_names``; θ wrapped to [−π, π).
    ``params``: (N, 4) per sequence or (N, T, 4) per frame (m, l, g, γ)."""
    per_frame = params[:, None] if params.ndim == 2 else params  # (N, 1 or T, 4)
    m, l, g = (per_frame[..., i] for i in range(3))
    s, c = np.sin(theta), np.cos(theta)
    energy = 0.5 * m * l * l * omega**2 + m * g * l * (1 - c)
    return np.stack([wrap_angle(theta), omega, s, c, l * s, -l * c, energy], axis=-1)
