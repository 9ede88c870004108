"""The mass on a spring as stated physics: q̈ = −(k/m) q − γ q̇."""

from __future__ import annotations

import numpy as np
import torch

from .base import KnownPhysics


def _rhs(y: torch.Tensor, params: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    q, v = y[:, 0], y[:, 1]
    return torch.stack([v, -params[:, 0] * q - params[:, 1] * v], -1)


def _points(y: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """The mass on its line: y (..., 2) -> (..., 1, 2), (q, 0) (the camera turns the line as the video does)."""
    q = y[..., 0]
    return torch.stack([q, torch.zeros_like(q)], -1)[..., None, :]


def _truth(p: dict) -> dict:
    """k/m and the damping (our simulator's spring is undamped: 0 where the data names none)."""
    return {"k_over_m": p["k"] / p["mass"], "damping": p.get("damping", np.zeros_like(p["k"]))}


def mass_spring() -> KnownPhysics:
    return KnownPhysics(
        name="mass_spring",
        state_names=["q", "v"],
        rhs=_rhs,
        param_names=["k_over_m", "damping"],
        param_init=[2.0, 0.05],
        param_units=["1/s²", "1/s"],
        truth=_truth,
        points=_points,
        velocities={1: 0},
    )
