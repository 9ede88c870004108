"""The pendulum as stated physics: θ̈ = −(g/l) sin θ − γ θ̇ + b u, with b = 1 / (m l²) the torque gain.

The torque gain is signed: a latent angle may run the other way round (θ -> −θ leaves the rest unchanged), and
then b is −1 / (m l²); evaluation compares its magnitude."""

from __future__ import annotations

import torch

from .base import KnownPhysics


def _rhs(y: torch.Tensor, params: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    theta, omega = y[:, 0], y[:, 1]
    acc = -params[:, 0] * torch.sin(theta) - params[:, 1] * omega
    if u is not None:
        acc = acc + params[:, 2] * u[:, 0]
    return torch.stack([omega, acc], -1)


def _points(y: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """The bob at unit length: y (..., 2) -> (..., 1, 2), (sin θ, −cos θ) with y up (θ = 0 hangs down)."""
    theta = y[..., 0]
    return torch.stack([torch.sin(theta), -torch.cos(theta)], -1)[..., None, :]


def _truth(p: dict) -> dict:
    """The undriven pendulum's parameters from a dataset's gravity, length and damping (no mass needed)."""
    return {"g_over_l": p["gravity"] / p["length"], "damping": p["damping"]}


def _truth_driven(p: dict) -> dict:
    """... and the torque gain, from the mass too."""
    return {**_truth(p), "torque_gain": 1.0 / (p["mass"] * p["length"] ** 2)}


def pendulum(driven: bool = False) -> KnownPhysics:
    """The damped pendulum; ``driven`` adds the torque input and its unknown gain."""
    names = ["g_over_l", "damping"] + (["torque_gain"] if driven else [])
    return KnownPhysics(
        name="pendulum_driven" if driven else "pendulum",
        state_names=["theta", "omega"],
        angles=(0,),
        rhs=_rhs,
        param_names=names,
        param_init=[5.0, 0.1, 1.0][: len(names)],
        param_units=["1/s²", "1/s", "1/(kg m²)"][: len(names)],
        positive=[True, True, False][: len(names)],
        orientation_free=["torque_gain"] if driven else [],
        input_dim=int(driven),
        truth=_truth_driven if driven else _truth,
        points=_points,
        velocities={1: 0},
        driven=None if driven else pendulum(driven=True),
        frame_columns={"g": "gravity", "l": "length", "gamma": "damping"},  # what a drifting pendulum saves
    )
