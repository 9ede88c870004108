"""One ball in a box as stated physics: free flight under a uniform acceleration, elastic walls.

State y = (x0, y0, vx0, vy0), the names of the ``balls`` simulator's columns, in the latent's own units (the
render decoder's camera maps them to the image, so no world scale is assumed). Parameters: the walls the ball's
centre bounces off on each axis (``lower`` ≤ x, y ≤ ``upper``: the box less the ball's radius) and the
acceleration (``gx``, ``gy``), all signed, starting at the box [−1, 1]² without gravity.

The walls make the flow non-smooth, so RK4 on a right-hand side would step through them; ``box_flow`` is the
flow itself: sub-steps of exact constant-acceleration motion, each position folded back into the box by
reflection (a triangle wave: any number of bounces in a step), the velocity's sign flipped once per bounce. It is
exact between bounces and, without gravity, through them; with gravity a bounce inside a sub-step is reflected as
if the acceleration had not changed direction (a position error of order g·h² per bounce), and the bounced
axis's speed is then set from its energy ½v² − g·x, which the walls conserve, so energy does not drift.
Positions and velocities keep their gradients through the fold, as do the walls.
"""

from __future__ import annotations

import torch

from .base import KnownPhysics

MIN_WIDTH = 1e-3  # walls closer than this (latent units) are held apart: a box of zero width has no fold


def _rhs(y: torch.Tensor, params: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    """dy/dt between bounces: (vx, vy, gx, gy)."""
    return torch.cat([y[..., 2:4], params[..., 2:4].expand_as(y[..., 2:4])], -1)


def fold(x: torch.Tensor, v: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
    """Reflect positions x into [lower, upper] (any number of bounces) and flip each velocity v once per bounce:
    x, v (..., 2), lower, upper broadcastable -> (x, v) inside the box and whether each bounced (bool)."""
    width = (upper - lower).clamp(min=MIN_WIDTH)
    s = (x - lower) / width
    n = torch.floor(s)
    odd = torch.remainder(n, 2) == 1
    frac = s - n
    return lower + width * torch.where(odd, 1 - frac, frac), torch.where(odd, -v, v), n != 0


def box_flow(y: torch.Tensor, params: torch.Tensor, u, dt, substeps: int) -> torch.Tensor:
    """y (B, 4) after Δt (a float or (B, 1)) with params (B, 4) = (lower, upper, gx, gy): ``substeps`` steps of
    exact constant-acceleration motion, each folded into the box."""
    x, v = y[..., :2], y[..., 2:4]
    lower, upper, g = params[..., :1], params[..., 1:2], params[..., 2:4]
    h = dt / substeps
    for _ in range(substeps):
        energy = 0.5 * v * v - g * x  # per axis, conserved by the motion and by elastic walls
        x, v, bounced = fold(x + h * v + 0.5 * h * h * g, v + h * g, lower, upper)
        speed = (2 * (energy + g * x)).clamp(min=1e-12).sqrt()  # the speed that energy has where x landed
        v = torch.where(bounced, torch.where(v < 0, -speed, speed), v)
    return torch.cat([x, v], -1)


def _points(y: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """The ball: y (..., 4) -> (..., 1, 2), its centre."""
    return y[..., None, :2]


def box() -> KnownPhysics:
    return KnownPhysics(
        name="box",
        state_names=["x0", "y0", "vx0", "vy0"],
        rhs=_rhs,
        flow=box_flow,
        param_names=["lower", "upper", "gx", "gy"],
        param_init=[-1.0, 1.0, 0.0, 0.0],
        positive=[False] * 4,
        param_units=["latent units", "latent units", "latent units/s²", "latent units/s²"],
        points=_points,
        velocities={2: 0, 3: 1},
    )
