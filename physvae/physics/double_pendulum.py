"""The double pendulum as stated physics, in the parameters video can identify: g/l₁, g/l₂ and μ = m₂/m₁.

The equations are the simulator's (``simulators.double_pendulum``) divided through by m₁, with l₂/l₁ =
(g/l₁)/(g/l₂); the absolute masses and lengths leave the angles' motion unchanged for given g/l₁, g/l₂, μ.
"""

from __future__ import annotations

import torch

from .base import KnownPhysics


def _rhs(y: torch.Tensor, params: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
    a1, a2, w1, w2 = y.unbind(-1)
    g1, g2, mu = params.unbind(-1)  # g/l1, g/l2, m2/m1
    d = a1 - a2
    den = 2 + mu - mu * torch.cos(2 * d)
    acc1 = (
        -g1 * (2 + mu) * torch.sin(a1)
        - mu * g1 * torch.sin(a1 - 2 * a2)
        - 2 * torch.sin(d) * mu * (w2**2 * (g1 / g2) + w1**2 * torch.cos(d))
    ) / den
    acc2 = (
        2
        * torch.sin(d)
        * (w1**2 * (g2 / g1) * (1 + mu) + g2 * (1 + mu) * torch.cos(a1) + w2**2 * mu * torch.cos(d))
    )
    return torch.stack([w1, w2, acc1, acc2 / den], -1)


def _points(y: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """Both bobs, the first arm of unit length: y (..., 4), shape (1,) = (l₂/l₁,) -> (..., 2, 2)."""
    a1, a2 = y[..., 0], y[..., 1]
    first = torch.stack([torch.sin(a1), -torch.cos(a1)], -1)
    second = first + shape[0] * torch.stack([torch.sin(a2), -torch.cos(a2)], -1)
    return torch.stack([first, second], -2)


def _truth(p: dict) -> dict:
    return {
        "g_over_l1": p["gravity"] / p["l1"],
        "g_over_l2": p["gravity"] / p["l2"],
        "mass_ratio": p["m2"] / p["m1"],
    }


def double_pendulum() -> KnownPhysics:
    return KnownPhysics(
        name="double_pendulum",
        state_names=["theta1", "theta2", "omega1", "omega2"],
        angles=(0, 1),
        rhs=_rhs,
        param_names=["g_over_l1", "g_over_l2", "mass_ratio"],
        param_init=[5.0, 5.0, 1.0],
        param_units=["1/s²", "1/s²", "1"],
        truth=_truth,
        points=_points,
        velocities={2: 0, 3: 1},
        shape_init=[1.0],
    )
