"""Evidence about a velocity from the evidence about its position in neighbouring frames.

The model fuses the inference network's evidence with the transition's prior one latent dimension at a time, so
what a frame says about an angle never corrects the angular velocity (a Kalman filter would, through their
covariance). Where the network's own velocity evidence is poor (measured on the DVBF pendulum with the render
decoder: a slope of 0.3 on the true θ̇ at the first frame and about 0 later, while the angle is read to 0.02 rad),
the posterior velocity lags the truth for many frames and the stated physics' parameters are fit to that lag.
Velocities are time derivatives of positions the stated physics names (``KnownPhysics.velocities``), so their
evidence can come from the position evidence: the derivative at frame t of the quadratic through the positions at
three frames (t − 1, t, t + 1; the first three or last three at the ends), exact for a quadratic path at any frame
times, with its variance propagated from the positions' (independent frames assumed). Angles are differenced on
the circle. ``derivative_evidence`` does the same for any (velocity, position) pairs of latent dimensions: the
second-order neural ODE's v = q̇ (``neural_ode.velocity_evidence``).
"""

from __future__ import annotations

import torch

from .base import KnownPhysics

VELOCITY_EVIDENCE = ("network", "difference")  # a transition's choices: its network's own, or from positions


def three_point_weights(times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame indices (T, 3) and weights (B, T, 3) of the derivative at each frame of the quadratic through three
    frames, for frame times (B, T) (T ≥ 3): d/dt x(t_i) ≈ Σ_j w_ij x(t_idx[i, j]). Exact for quadratics."""
    t_len = times.shape[1]
    centre = torch.arange(t_len).clamp(1, t_len - 2)
    idx = torch.stack([centre - 1, centre, centre + 1], -1)  # (T, 3)
    x, at = times[:, idx], times[..., None]  # (B, T, 3), (B, T, 1)
    weights = []
    for j in range(3):
        others = [i for i in range(3) if i != j]
        w = torch.zeros_like(at[..., 0])
        for i in others:
            (m,) = [k for k in others if k != i]
            w = w + (at[..., 0] - x[..., m]) / ((x[..., j] - x[..., i]) * (x[..., j] - x[..., m]))
        weights.append(w)
    return idx, torch.stack(weights, -1)


def latent_index(physics: KnownPhysics, column: int) -> int:
    """The first latent dimension of state column ``column`` (an angle takes two: cos, sin)."""
    return column + sum(1 for a in physics.angles if a < column)


def _position(physics: KnownPhysics, column: int, mean: torch.Tensor, std: torch.Tensor):
    """The evidence about state column ``column`` (B, T) each, from latent evidence (B, T, D): an angle is
    atan2 of its (cos, sin) pair, its std by the delta method."""
    k = latent_index(physics, column)
    if column not in physics.angles:
        return mean[..., k], std[..., k]
    c, s, sc, ss = mean[..., k], mean[..., k + 1], std[..., k], std[..., k + 1]
    r2 = (c * c + s * s).clamp(min=1e-12)
    return torch.atan2(s, c), ((s * sc).pow(2) + (c * ss).pow(2)).sqrt() / r2


def velocity_evidence(
    physics: KnownPhysics, mean: torch.Tensor, std: torch.Tensor, mask: torch.Tensor, times: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Evidence (B, T, D) mean and std with every velocity of ``physics.velocities`` replaced by the three-frame
    derivative of its position's evidence, where those three frames were seen (mask (B, T) > 0); elsewhere, and
    for sequences of fewer than three frames, the network's own evidence stays. times (B, T) in seconds."""
    pairs = [
        (
            latent_index(physics, velocity),
            *_position(physics, position, mean, std),
            position in physics.angles,
        )
        for velocity, position in physics.velocities.items()
    ]
    return derivative_evidence(mean, std, mask, times, pairs)


def derivative_evidence(
    mean: torch.Tensor,
    std: torch.Tensor,
    mask: torch.Tensor,
    times: torch.Tensor,
    pairs: list[tuple[int, torch.Tensor, torch.Tensor, bool]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Evidence (B, T, D) mean and std with latent dimension k replaced by the three-frame derivative of a
    position's evidence x, std sx (B, T each), for each (k, x, sx, on_circle) of ``pairs`` (on_circle: x is an
    angle, differenced on the circle), where the three frames were seen (mask (B, T) > 0); elsewhere, and for
    sequences of fewer than three frames, the evidence stays. times (B, T) in seconds."""
    if mean.shape[1] < 3 or not pairs:
        return mean, std
    idx, w = three_point_weights(times.to(mean.dtype))
    seen = (mask[:, idx] > 0).all(-1, keepdim=True)  # (B, T, 1)
    columns = torch.arange(mean.shape[-1], device=mean.device)
    new_mean, new_std = mean, std
    for k, x, sx, on_circle in pairs:
        nodes = x[:, idx] - x[..., None]  # (B, T, 3): positions relative to frame t's
        if on_circle:
            nodes = torch.atan2(nodes.sin(), nodes.cos())  # differences on the circle
        v = (w * nodes).sum(-1, keepdim=True)
        sv = (w * sx[:, idx]).pow(2).sum(-1, keepdim=True).sqrt()
        here = seen & (columns == k)  # (B, T, D), no in-place writes
        new_mean, new_std = torch.where(here, v, new_mean), torch.where(here, sv, new_std)
    return new_mean, new_std
