"""Double pendulum (DeepMind suite DOUBLE_PENDULUM), added through the ODESystem API."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import interval, positive
from .ode_system import ODESystem
from .pendulum import wrap_angle
from .system import Scene


@dataclass
class DoublePendulumConfig:
    """Two rigid rods with point bobs; angles from the downward vertical."""

    mass: tuple[float, float] = (1.0, 1.0)  # both bob masses
    length: tuple[float, float] = (1.0, 1.0)  # both rod lengths
    gravity: tuple[float, float] = (3.0, 3.0)  # g (the DM-suite pendulum's)
    theta0: tuple[float, float] = (-1.5, 1.5)  # initial angles, rad
    omega0: tuple[float, float] = (-0.5, 0.5)  # initial angular velocities, rad/s
    bob_radius: float = 0.2  # drawn bob radius
    rod_width: float = 0.06  # drawn rod width


class DoublePendulum(ODESystem):
    name, config_class = "double_pendulum", DoublePendulumConfig
    state_names = ["theta1", "theta2", "omega1", "omega2", "x1", "y1", "x2", "y2", "energy"]
    state_units = ["rad", "rad", "rad/s", "rad/s", "m", "m", "m", "m", "J"]
    state_kinds = ["angle", "angle", "velocity", "velocity"] + ["derived"] * 4 + ["energy"]
    param_names = ["m1", "m2", "l1", "l2", "gravity"]
    param_units = ["kg", "kg", "m", "m", "m/s²"]
    max_step, n_objects = 0.002, 2

    def validate(self):
        for f in ("mass", "length", "gravity"):
            interval(f"double_pendulum.{f}", getattr(self.config, f), lower=0, strict=True)
        for f in ("theta0", "omega0"):
            interval(f"double_pendulum.{f}", getattr(self.config, f))
        for f in ("bob_radius", "rod_width"):
            positive(f"double_pendulum.{f}", getattr(self.config, f))

    def sample(self, rng):
        c = self.config
        m1, m2, l1, l2 = (rng.uniform(*r) for r in (c.mass, c.mass, c.length, c.length))
        return (
            np.array([m1, m2, l1, l2, rng.uniform(*c.gravity)]),
            np.concatenate([rng.uniform(*c.theta0, size=2), rng.uniform(*c.omega0, size=2)]),
        )

    def rhs(self, y, params):
        m1, m2, l1, l2, g = params.T
        a1, a2, w1, w2 = y.T
        d = a1 - a2
        den = 2 * m1 + m2 - m2 * np.cos(2 * d)
        acc1 = (
            -g * (2 * m1 + m2) * np.sin(a1)
            - m2 * g * np.sin(a1 - 2 * a2)
            - 2 * np.sin(d) * m2 * (w2**2 * l2 + w1**2 * l1 * np.cos(d))
        ) / (l1 * den)
        acc2 = (
            2
            * np.sin(d)
            * (w1**2 * l1 * (m1 + m2) + g * (m1 + m2) * np.cos(a1) + w2**2 * l2 * m2 * np.cos(d))
            / (l2 * den)
        )
        return np.stack([w1, w2, acc1, acc2], axis=1)

    def observe(self, y, params):
        m1, m2, l1, l2, g = (params[:, i : i + 1] for i in range(5))
        a1, a2, w1, w2 = (y[..., i] for i in range(4))
        x1, y1 = l1 * np.sin(a1), -l1 * np.cos(a1)
        x2, y2 = x1 + l2 * np.sin(a2), y1 - l2 * np.cos(a2)
        kinetic = 0.5 * m1 * (l1 * w1) ** 2 + 0.5 * m2 * (
            (l1 * w1) ** 2 + (l2 * w2) ** 2 + 2 * l1 * l2 * w1 * w2 * np.cos(a1 - a2)
        )
        energy = kinetic - (m1 + m2) * g * l1 * np.cos(a1) - m2 * g * l2 * np.cos(a2)
        return np.stack([wrap_angle(a1), wrap_angle(a2), w1, w2, x1, y1, x2, y2, energy], axis=-1)

    def draw(self, states, params):
        c = self.config
        b1, b2 = states[..., 4:6], states[..., 6:8]
        half = 1.05 * (2 * c.length[1] + c.bob_radius)
        rods = np.stack(
            [np.stack([np.zeros_like(b1), b1], -2), np.stack([b1, b2], -2)], axis=2
        )  # (N, T, 2, 2, 2)
        return Scene(
            discs=np.stack([b1, b2], axis=2),
            radii=np.full((len(states), 2), c.bob_radius),
            extent=(-half, half, -half, half),
            rods=rods,
            rod_width=c.rod_width,
        )

    def ood_config(self):
        """Both initial angles from above the training range (up to 1 rad further, at most π): higher potential
        energy than any training start for the default ranges (the OOD test checks the energies)."""
        hi = max(abs(a) for a in self.config.theta0)
        return replace(self.config, theta0=(min(hi + 0.5, math.pi), min(hi + 1.0, math.pi)))
