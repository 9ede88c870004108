"""Physical quantities measured from rendered frames with no model: the object's centroid (``readout``) mapped to
world coordinates, then the pendulum's angle, angular velocity, energy and stated parameters, or a ball's speed.

The map from pixels to the world is calibrated on a dataset's own frames and true positions (an affine least-squares
fit of world (x, y) on centroid (row, col)), so flips, extents and borders need no knowledge of the renderer. The
background is the per-pixel median of those frames (the object moves; the background does not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators import ConfigError

from .readout import centroids


@dataclass
class Calibration:
    """Pixel -> world: world (x, y) = [row, col, 1] @ affine, affine (3, 2); background (H, W, C) in [0, 1]."""

    affine: np.ndarray
    background: np.ndarray

    def positions(self, frames, channel_axis: int = -1) -> np.ndarray:
        """World positions (..., 2) of the object in frames (..., H, W, C) (or (..., C, H, W), channel_axis=-3)."""
        bg = self.background if channel_axis == -1 else np.moveaxis(self.background, -1, -3)
        rc = centroids(frames, bg, channel_axis=channel_axis)
        return np.concatenate([rc, np.ones_like(rc[..., :1])], -1) @ self.affine


def calibrate(frames: np.ndarray, positions: np.ndarray, max_frames: int = 4000) -> Calibration:
    """Fit the pixel -> world map on frames (N, T, H, W, C) (uint8 or float in [0, 1]) and the object's true
    world positions (N, T, 2), using at most ``max_frames`` frames."""
    f = np.asarray(frames).reshape(-1, *frames.shape[-3:])[:max_frames]
    f = f / 255.0 if f.dtype == np.uint8 else f.astype(np.float64)
    background = np.median(f, axis=0)
    rc = centroids(f, background)
    xy = np.asarray(positions, dtype=np.float64).reshape(-1, 2)[: len(f)]
    ok = np.isfinite(rc).all(-1)
    a = np.concatenate([rc[ok], np.ones((ok.sum(), 1))], -1)
    affine, *_ = np.linalg.lstsq(a, xy[ok], rcond=None)
    return Calibration(affine, background)


def pendulum_angle(xy: np.ndarray) -> np.ndarray:
    """θ (...) from bob positions (..., 2) relative to the pivot at the origin, θ = 0 hanging straight down."""
    return np.arctan2(xy[..., 0], -xy[..., 1])


def angular_velocity(theta: np.ndarray, dt: float) -> np.ndarray:
    """θ̇ (..., T − 1) by differences of consecutive angles θ (..., T), each wrapped into (−π, π]."""
    return wrap(np.diff(theta, axis=-1)) / dt


def speed(xy: np.ndarray, dt: float) -> np.ndarray:
    """|v| (..., T − 1) by differences of consecutive positions xy (..., T, 2)."""
    return np.linalg.norm(np.diff(xy, axis=-2), axis=-1) / dt


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles into (−π, π]."""
    return np.pi - np.mod(np.pi - angle, 2 * np.pi)


def pendulum_energy(theta, omega, params) -> np.ndarray:
    """E = ½ m l² θ̇² + m g l (1 − cos θ) (J) for θ, θ̇ (...) and params (..., 4) mass, length, gravity, damping
    (the simulator's order), broadcast."""
    m, l, g = params[..., 0], params[..., 1], params[..., 2]
    return 0.5 * m * l**2 * omega**2 + m * g * l * (1 - np.cos(theta))


def pendulum_parameters(theta: np.ndarray, dt: float, u: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The stated pendulum θ̈ = −(g/l) sin θ − γ θ̇ [+ b u] fitted by least squares to angles θ (..., T) (and
    torques u (..., T), u_t acting between frames t and t + 1): central differences give θ̇ and θ̈ at frames
    1..T−2. Returns ``g_over_l``, ``damping`` [and ``torque_gain``], each (...)."""
    if theta.shape[-1] < 4:
        raise ConfigError(f"fitting the pendulum's parameters needs at least 4 frames, got {theta.shape[-1]}")
    step = wrap(np.diff(theta, axis=-1))  # (..., T − 1)
    omega = (step[..., 1:] + step[..., :-1]) / (2 * dt)
    acc = (step[..., 1:] - step[..., :-1]) / dt**2
    th = theta[..., 1:-1]
    cols = [-np.sin(th), -omega]
    if u is not None:  # the torque of the interval around frame t: the mean of u_{t−1} and u_t
        cols.append(0.5 * (u[..., :-2] + u[..., 1:-1]))
    a = np.stack(cols, -1)  # (..., T − 2, K)
    coef = np.linalg.solve(
        np.swapaxes(a, -1, -2) @ a + 1e-9 * np.eye(len(cols)), (np.swapaxes(a, -1, -2) @ acc[..., None])
    )[..., 0]
    names = ["g_over_l", "damping", "torque_gain"][: len(cols)]
    return {n: coef[..., i] for i, n in enumerate(names)}
