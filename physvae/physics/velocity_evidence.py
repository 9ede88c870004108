"""Evidence about a velocity from the evidence about its position in neighbouring frames.

The model fuses the inference network's evidence with the transition's prior one latent dimension at a time, so
what a frame says about an angle never corrects the angular velocity (a Kalman filter would, through their
covariance). Where the network's own velocity evidence is poor (measured on the DVBF pendulum with the render
decoder: a slope of 0.3 on the true θ̇ at the first frame and about 0 later, while the angle is read to 0.02 rad),
the posterior velocity lags the truth for many frames and the stated physics' parameters are fit to that lag.
Velocities are time derivatives of positions the stated physics names (``KnownPhysics.velocities``), so their
evidence can come from the position evidence: the derivative at frame t of the quadratic through the positions at
three seen frames (t and its nearest seen neighbours on either side; the nearest three on one side at the ends or
next to a long gap), exact for a quadratic path at any frame times, with its variance propagated from the
positions' (independent frames assumed). Angles are differenced on the circle. Only where fewer than three frames
of a sequence are seen does the network's own velocity evidence stay (measured on the box with the render
decoder, imputing half the frames: falling back to it next to every hidden frame made imputation worse than the
mean frame). ``derivative_evidence`` does the same for any (velocity, position) pairs of latent dimensions: the
second-order neural ODE's v = q̇ (``neural_ode.velocity_evidence``).
"""

from __future__ import annotations

import torch

from .base import KnownPhysics

VELOCITY_EVIDENCE = ("network", "difference")  # a transition's choices: its network's own, or from positions


def three_point_weights(times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame indices (T, 3) and weights (B, T, 3) of the derivative at each frame of the quadratic through three
    frames, for frame times (B, T) (T ≥ 3): d/dt x(t_i) ≈ Σ_j w_ij x(t_idx[i, j]). Exact for quadratics. The
    stencils of ``seen_stencils`` when every frame is seen."""
    t_len = times.shape[1]
    centre = torch.arange(t_len, device=times.device).clamp(1, t_len - 2)
    idx = torch.stack([centre - 1, centre, centre + 1], -1)  # (T, 3)
    return idx, _derivative_weights(times[:, idx], times)


def seen_stencils(mask: torch.Tensor, times: torch.Tensor):
    """For every seen frame (mask (B, T) > 0) of a sequence with at least three, three seen frames to
    differentiate over: the frame and its nearest seen neighbours before and after; at the first seen frame the
    next two, at the last the previous two. Returns frame indices (B, T, 3), weights (B, T, 3) as
    ``three_point_weights`` gives them, and where they hold (B, T, 1): never at hidden frames, whose evidence the
    posterior does not use."""
    seen = mask > 0
    b_len, t_len = seen.shape
    at = torch.arange(t_len, device=mask.device).expand(b_len, t_len)
    lo = _shift(torch.where(seen, at, -1).cummax(1).values, -1)  # (B, T): last seen frame before t, or −1
    hi = _shift(torch.where(seen, at, t_len).flip(1).cummin(1).values, t_len).flip(1)  # first after t, or T
    lo2 = lo.gather(1, lo.clamp(min=0)).where(lo >= 0, -1)
    hi2 = hi.gather(1, hi.clamp(max=t_len - 1)).where(hi < t_len, t_len)
    middle, start, end = (torch.stack(n, -1) for n in ((lo, at, hi), (at, hi, hi2), (lo2, lo, at)))
    idx = torch.where((lo < 0)[..., None], start, torch.where((hi >= t_len)[..., None], end, middle))
    ok = ((idx >= 0) & (idx < t_len)).all(-1, keepdim=True) & seen[..., None]
    idx = idx.clamp(0, t_len - 1)
    return idx, _derivative_weights(_take(times, idx), times), ok


def _shift(x: torch.Tensor, fill: int) -> torch.Tensor:
    """x (B, T) moved one frame later along time, the first frame ``fill``."""
    return torch.cat([torch.full_like(x[:, :1], fill), x[:, :-1]], 1)


def _derivative_weights(nodes: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    """Weights (B, T, 3) of the derivative at times ``at`` (B, T) of the quadratic through node times (B, T, 3)."""
    weights = []
    for j in range(3):
        others = [i for i in range(3) if i != j]
        w = torch.zeros_like(at)
        for i in others:
            (m,) = [k for k in others if k != i]
            w = w + (at - nodes[..., m]) / ((nodes[..., j] - nodes[..., i]) * (nodes[..., j] - nodes[..., m]))
        weights.append(w)
    return torch.stack(weights, -1)


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
    derivative of its position's evidence over three seen frames (mask (B, T) > 0; ``seen_stencils``); in
    sequences with fewer than three seen frames, the network's own evidence stays. times (B, T) in seconds."""
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
    angle, differenced on the circle), over three seen frames (mask (B, T) > 0; ``seen_stencils``); at hidden
    frames and in sequences with fewer than three seen frames the evidence stays. times (B, T) in seconds."""
    if mean.shape[1] < 3 or not pairs:
        return mean, std
    idx, w, ok = seen_stencils(mask, times.to(mean.dtype))
    columns = torch.arange(mean.shape[-1], device=mean.device)
    new_mean, new_std = mean, std
    for k, x, sx, on_circle in pairs:
        nodes = _take(x, idx) - x[..., None]  # (B, T, 3): positions relative to frame t's
        if on_circle:
            nodes = torch.atan2(nodes.sin(), nodes.cos())  # differences on the circle
        v = (w * nodes).sum(-1, keepdim=True)
        sv = (w * _take(sx, idx)).pow(2).sum(-1, keepdim=True).sqrt()
        here = ok & (columns == k)  # (B, T, D), no in-place writes
        new_mean, new_std = torch.where(here, v, new_mean), torch.where(here, sv, new_std)
    return new_mean, new_std


def _take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, T) at frame indices idx (B, T, 3)."""
    return x.gather(1, idx.flatten(1)).view(idx.shape)
