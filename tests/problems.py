"""Small physical problems with exact answers, shared by the tests."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ellipk


def small_angle(theta0: float, g: float, l: float, t: np.ndarray) -> np.ndarray:
    """θ(t) = θ₀ cos(√(g/l) t): the undamped pendulum released from rest at a small angle."""
    return theta0 * np.cos(math.sqrt(g / l) * t)


def exact_period(theta0: float, g: float, l: float) -> float:
    """T = 4 √(l/g) K(m), m = sin²(θ₀/2): the period of an undamped pendulum released from rest at θ₀."""
    return 4.0 * math.sqrt(l / g) * float(ellipk(math.sin(theta0 / 2) ** 2))


def damped_oscillator_map(omega0: float, gamma: float, dt: float) -> np.ndarray:
    """Exact one-step map (2×2) of ẍ = −ω₀² x − γ ẋ over dt, state (x, ẋ)."""
    from scipy.linalg import expm

    return expm(np.array([[0.0, 1.0], [-(omega0**2), -gamma]]) * dt)
