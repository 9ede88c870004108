"""Mass on a spring (DeepMind suite MASS_SPRING), added through the ODESystem API: q̈ = −(k/m) q."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import interval, non_negative, positive
from .ode_system import ODESystem
from .system import Scene


@dataclass
class MassSpringConfig:
    """DM-suite defaults: k = 2, m = 0.5, phase-space radius √(q² + p²) in [0.1, 1.0] with p = m q̇."""

    k: tuple[float, float] = (2.0, 2.0)  # spring constant
    mass: tuple[float, float] = (0.5, 0.5)  # mass
    radius: tuple[float, float] = (0.1, 1.0)  # phase-space radius of the initial state
    ball_radius: float = 0.25  # drawn ball radius
    radius_from_mass: bool = False  # draw the ball of area m instead: radius √(m/π) (the DM suite's)
    vertical: bool = False  # the ball moves along y (the DM suite's), not along x
    view: float = 0.0  # half-width of the square the frames show (0: the largest reach and the ball, + 10 %)
    phase_columns: bool = False  # also save p = m v (the DM suite's state is q and p)


class MassSpring(ODESystem):
    name, config_class = "mass_spring", MassSpringConfig
    param_names = ["k", "mass"]
    param_units = ["N/m", "kg"]
    reference_names, reference_units = ("natural_frequency", "damping"), ("rad/s", "1/s")

    state_names = property(lambda self: ["q", "v", "x", "y", "energy"] + ["p"] * self.config.phase_columns)
    state_units = property(lambda self: ["m", "m/s", "m", "m", "J"] + ["kg m/s"] * self.config.phase_columns)
    state_kinds = property(
        lambda self: (
            ["coordinate", "velocity", "derived", "derived", "energy"]
            + ["velocity"] * self.config.phase_columns
        )
    )

    def validate(self):
        for f in ("k", "mass", "radius"):
            interval(f"mass_spring.{f}", getattr(self.config, f), lower=0, strict=f != "radius")
        positive("mass_spring.ball_radius", self.config.ball_radius)
        non_negative("mass_spring.view", self.config.view)

    def sample(self, rng):
        c = self.config
        k, m, r, phi = (
            rng.uniform(*c.k),
            rng.uniform(*c.mass),
            rng.uniform(*c.radius),
            rng.uniform(0, 2 * math.pi),
        )
        return np.array([k, m]), np.array([r * math.cos(phi), r * math.sin(phi) / m])

    def rhs(self, y, params):
        return np.stack([y[:, 1], -params[:, 0] / params[:, 1] * y[:, 0]], axis=1)

    def observe(self, y, params):
        k, m = params[:, 0:1], params[:, 1:2]
        q, v = y[..., 0], y[..., 1]
        on_x, on_y = (np.zeros_like(q), q) if self.config.vertical else (q, np.zeros_like(q))
        cols = [q, v, on_x, on_y, 0.5 * m * v**2 + 0.5 * k * q**2] + [m * v] * self.config.phase_columns
        return np.stack(cols, axis=-1)

    def draw(self, states, params):
        c = self.config
        if c.radius_from_mass:
            radii, largest = np.sqrt(params[:, 1:2] / math.pi), math.sqrt(c.mass[1] / math.pi)
        else:
            radii, largest = np.full((len(states), 1), c.ball_radius), c.ball_radius
        k_min, m_max = c.k[0], c.mass[1]
        reach = c.radius[1] * max(1.0, 1.0 / math.sqrt(k_min * m_max))  # largest |q| the energy allows
        half = c.view or 1.1 * (reach + largest)
        return Scene(discs=states[..., None, 2:4], radii=radii, extent=(-half, half, -half, half))

    def reference_dynamics(self, params):
        """ω₀ = √(k/m), no damping: (N, 2) -> (N, 2)."""
        return np.stack([np.sqrt(params[:, 0] / params[:, 1]), np.zeros(len(params))], axis=1)

    def ood_config(self):
        """Phase radii above the training range: with E = p²/2m + k q²/2 this raises every initial energy when
        k m = 1 (the DM suite's) and the OOD test checks it for the defaults."""
        lo, hi = self.config.radius
        return replace(self.config, radius=(hi, hi + (hi - lo) / 2))
