"""Evidence about a velocity from the evidence about its position in neighbouring frames.

The model fuses the inference network's evidence with the transition's prior one latent dimension at a time, so
what a frame says about an angle never corrects the angular velocity (a Kalman filter would, through their
covariance). Where the network's own velocity evidence is poor (measured on the DVBF pendulum with the render
decoder: a slope of 0.3 on the true θ̇ at the first frame and about 0 later, while the angle is read to 0.02 rad),
the posterior velocity lags the truth for many frames and the stated physics' parameters are fit to that lag.
Velocities are time derivatives of positions the stated physics names (``KnownPhysics.velocities``), so their
evidence can come from the position evidence: the derivative at frame t of the quadratic through the positions at
three seen frames (t and its nearest seen neighbours on either side; at the first and last seen frames the nearest
two on one side), exact for a quadratic path at any frame times, its variance propagated from the positions'
(independent frames assumed) plus the square of the quadratic's own error where the stencil spans hidden frames.
That error is estimated from a fourth seen frame: the third divided difference times the stencil's node product,
exact for cubic paths (the larger of the estimates with a fourth frame before and after), less what the
positions' noise alone would put there. Across a gap the quadratic can be far off (a pendulum swings within a few
frames) and the network's own evidence is then the better one: without the term, imputing half the DVBF
pendulum's frames was 15 % worse than when such frames kept the network's evidence; with it 10 % better. With
``robust`` the term is added at every frame: a bounce puts a kink between two frames, and the quadratic through
it reads about zero velocity; without the term that reading is confident, and the box's posterior velocity R²
stayed at 0.93 with three quarters of its error at bounces (0.95 with it, same run re-evaluated). On smooth paths
the term is a true error too, but it hands the velocity to the prior: on the DM-colours pendulum, whose
per-sequence parameters are poorly inferred, the posterior θ̇ R² fell from 0.99 to 0.97 — hence an option, for
motion with kinks. With ``kink`` the std stays the positions' where the path is smooth, and where a kink lies
inside a frame's stencil (its curvature away from the sequence's usual one) the velocity is read from the three
frames on the kink's smooth side (``kink_stencils``), exact for a parabola on each side of a bounce; where neither
side is smooth the std is widened as ``robust`` widens it. On KVAE's box, the same run's posterior velocity R² rises
from 0.947 / 0.942 (robust) to 0.959 / 0.949; frames next to a bounce carry three quarters of the rest. Where a
stencil spans hidden frames, ``kink`` gives no velocity evidence (std ``NO_EVIDENCE``): a bounce between its nodes
bends no curvature the seen frames show, and the quadratic across it is confidently wrong. Measured on KVAE's box
(a PhysicsBox trained with every frame seen, re-evaluated: ``benchmarks/results/kvae_physics_kink_cpu2/retrained``):
with that evidence a seen frame after a gap restarted the rollout from a wrong velocity, and imputing 90 % of the
frames scored worse than imputing all of them (Hamming 0.0213 against 0.0151); without it 0.0126, half of the
frames hidden 0.0124 → 0.0096. Angles are
differenced on the circle. Where a sequence shows two frames, both get the
slope between them (first order; no error estimate without a third frame), and where it shows one, no evidence at
all (std ``NO_EVIDENCE``): the network's own velocity output is never used where positions give the evidence, so
nothing trains it. Measured: falling back to it next to every hidden frame made the box's imputation worse than
the mean frame; a prediction of the undamped pendulum from two context frames started 3.4 rad/s off (the swing's
rms speed is 2.3) with a claimed std of 0.06. ``derivative_evidence`` does the same for any (velocity, position)
pairs of latent dimensions: the second-order neural ODE's v = q̇ (``neural_ode.velocity_evidence``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .base import KnownPhysics

# a transition's choices: its network's own; from positions; from positions, the std widened by the truncation error
# and, with "kink", read at a detected kink from the stencil on its smooth side
VELOCITY_EVIDENCE = ("network", "difference", "robust", "kink")
# how many noise stds a stencil's curvature must exceed a neighbour's for a kink between them
KINK_SIGNIFICANCE = 3.0
# the std of a velocity's evidence where its sequence shows one frame (units of the velocity): none
NO_EVIDENCE = 1e3


def three_point_weights(times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame indices (T, 3) and weights (B, T, 3) of the derivative at each frame of the quadratic through three
    frames, for frame times (B, T) (T ≥ 3): d/dt x(t_i) ≈ Σ_j w_ij x(t_idx[i, j]). Exact for quadratics. The
    stencils of ``seen_stencils`` when every frame is seen."""
    t_len = times.shape[1]
    centre = torch.arange(t_len, device=times.device).clamp(1, t_len - 2)
    idx = torch.stack([centre - 1, centre, centre + 1], -1)  # (T, 3)
    return idx, _derivative_weights(times[:, idx], times)


class Stencils(NamedTuple):
    """Where each frame's velocity is differentiated from (``seen_stencils``); B sequences of T frames."""

    idx: torch.Tensor  # (B, T, 3) frame indices of the three seen frames, in time order, the frame itself one
    weights: torch.Tensor  # (B, T, 3) derivative weights, as ``three_point_weights`` gives them
    ok: torch.Tensor  # (B, T, 1) where the stencil holds: seen frames of sequences with three seen frames
    node_times: torch.Tensor  # (B, T, 3) their times (made distinct where the stencil does not hold)
    extra: torch.Tensor  # (B, T, 2) a fourth seen frame, before and after the stencil (clamped where none)
    extra_ok: torch.Tensor  # (B, T, 2) whether that fourth frame exists
    extra_times: torch.Tensor  # (B, T, 2) its time (distinct from the stencil's where there is none)


def seen_stencils(mask: torch.Tensor, times: torch.Tensor) -> Stencils:
    """For every seen frame (mask (B, T) > 0) of a sequence with at least three, three seen frames to
    differentiate over: the frame and its nearest seen neighbours before and after; at the first seen frame the
    next two, at the last the previous two; and the seen frames just outside them, for the error estimate. Never
    at hidden frames, whose evidence the posterior does not use. times (B, T)."""
    seen = mask > 0
    b_len, t_len = seen.shape
    at = torch.arange(t_len, device=mask.device).expand(b_len, t_len)
    lo = _shift(torch.where(seen, at, -1).cummax(1).values, -1)  # (B, T): last seen frame before t, or −1
    hi = _shift(torch.where(seen, at, t_len).flip(1).cummin(1).values, t_len).flip(1)  # first after t, or T
    lo2, hi2 = _neighbour(lo, lo, -1), _neighbour(hi, hi, t_len)
    middle, start, end = (torch.stack(n, -1) for n in ((lo, at, hi), (at, hi, hi2), (lo2, lo, at)))
    idx = torch.where((lo < 0)[..., None], start, torch.where((hi >= t_len)[..., None], end, middle))
    ok = ((idx >= 0) & (idx < t_len)).all(-1, keepdim=True) & seen[..., None]
    idx = idx.clamp(0, t_len - 1)
    extra = torch.stack([_neighbour(lo, idx[..., 0], -1), _neighbour(hi, idx[..., 2], t_len)], -1)
    # none where the stencil does not hold: its times stand in there, and a real frame's may meet them
    extra_ok = (extra >= 0) & (extra < t_len) & ok
    extra = extra.clamp(0, t_len - 1)
    # distinct stand-in times where a frame is missing keep every weight finite (and so every gradient)
    step = torch.tensor([-1.0, 0.0, 1.0], dtype=times.dtype, device=times.device)
    node_times = torch.where(ok, _take(times, idx), times[..., None] + step)
    span = node_times[..., 2:] - node_times[..., :1]
    stand_in = torch.cat([node_times[..., :1] - span, node_times[..., 2:] + span], -1)
    extra_times = torch.where(extra_ok, _take(times, extra), stand_in)
    weights = _derivative_weights(node_times, times)
    return Stencils(idx, weights, ok, node_times, extra, extra_ok, extra_times)


def _neighbour(table: torch.Tensor, frame: torch.Tensor, none: int) -> torch.Tensor:
    """table (B, T) (each frame's last seen frame before it, or first after) read at frames (B, T); ``none``
    where a frame is itself ``none`` (out of range)."""
    inside = (frame >= 0) & (frame < table.shape[1])
    return table.gather(1, frame.clamp(0, table.shape[1] - 1)).where(inside, none)


def truncation_error(
    values: torch.Tensor, spread: torch.Tensor, node_times: torch.Tensor, at: torch.Tensor
) -> torch.Tensor:
    """|error| (B, T) of the derivative at ``at`` (B, T) of the quadratic through the first three nodes, estimated
    with the fourth: f[n0, n1, n2, n3] · Π_{j: n_j ≠ at} (at − n_j) over the first three (exact for cubics), less
    twice what the values' noise alone puts into that estimate (so that noisy positions on a smooth path do not
    read as curvature; 0 where the estimate is within it). values, their std ``spread`` and node_times (B, T, 4);
    ``at`` is one of the first three node times."""
    f3, noise = divided_difference(values, spread, node_times)
    gaps = at[..., None] - node_times[..., :3]
    product = torch.where(gaps == 0, torch.ones_like(gaps), gaps).prod(-1).abs()
    return (product * (f3.abs() - 2 * noise)).clamp(min=0)


def divided_difference(
    values: torch.Tensor, spread: torch.Tensor, node_times: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The divided difference f[n0, …, n_{m−1}] (B, T) of values (B, T, m) at distinct node times (B, T, m) — the
    leading coefficient of the polynomial through them — and its noise std (B, T) from the values' independent
    stds ``spread`` (B, T, m)."""
    f, noise = torch.zeros_like(values[..., 0]), torch.zeros_like(values[..., 0])
    for j in range(values.shape[-1]):
        gaps = node_times[..., j : j + 1] - torch.cat([node_times[..., :j], node_times[..., j + 1 :]], -1)
        denominator = gaps.prod(-1)
        f = f + values[..., j] / denominator
        noise = noise + (spread[..., j] / denominator).pow(2)
    return f, noise.sqrt()


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
    physics: KnownPhysics,
    mean: torch.Tensor,
    std: torch.Tensor,
    mask: torch.Tensor,
    times: torch.Tensor,
    truncation: bool = False,
    kink: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Evidence (B, T, D) mean and std with every velocity of ``physics.velocities`` replaced by the three-frame
    derivative of its position's evidence over three seen frames (mask (B, T) > 0; ``seen_stencils``); in
    sequences with two seen frames, the slope between them; with one, none (``few_frames``). times (B, T) in
    seconds; ``truncation``: widen the std by the quadratic's estimated error; ``kink``: at a kink, the smooth
    side's stencil (``derivative_evidence``)."""
    pairs = [
        (
            latent_index(physics, velocity),
            *_position(physics, position, mean, std),
            position in physics.angles,
        )
        for velocity, position in physics.velocities.items()
    ]
    return derivative_evidence(mean, std, mask, times, pairs, truncation, kink)


def derivative_evidence(
    mean: torch.Tensor,
    std: torch.Tensor,
    mask: torch.Tensor,
    times: torch.Tensor,
    pairs: list[tuple[int, torch.Tensor, torch.Tensor, bool]],
    truncation: bool = False,
    kink: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Evidence (B, T, D) mean and std with latent dimension k replaced by the three-frame derivative of a
    position's evidence x, std sx (B, T each), for each (k, x, sx, on_circle) of ``pairs`` (on_circle: x is an
    angle, differenced on the circle), over three seen frames (mask (B, T) > 0; ``seen_stencils``), its std the
    positions' propagated and, with ``truncation``, the quadratic's estimated error (``truncation_error``); with
    ``kink``, where a kink lies inside the stencil, the stencil shifted to its smooth side (``kink_stencils``); in
    sequences with fewer than three seen frames as ``few_frames`` says; at hidden frames the evidence stays (the
    posterior does not use it). times (B, T) in seconds."""
    if not pairs:
        return mean, std
    times = times.to(mean.dtype)
    st = seen_stencils(mask, times) if mean.shape[1] >= 3 else None
    columns = torch.arange(mean.shape[-1], device=mean.device)
    new_mean, new_std = mean, std
    for k, x, sx, on_circle in pairs:
        v, sv, few = few_frames(mask, times, x, sx, on_circle)
        here = few & (columns == k)  # (B, T, D), no in-place writes
        if st is not None:
            v3, sv3 = _derivative(st, times, x, sx, on_circle, truncation, kink)
            v, sv, here = (
                torch.where(st.ok, v3, v),
                torch.where(st.ok, sv3, sv),
                here | (st.ok & (columns == k)),
            )
        new_mean, new_std = torch.where(here, v, new_mean), torch.where(here, sv, new_std)
    return new_mean, new_std


def few_frames(mask: torch.Tensor, times: torch.Tensor, x: torch.Tensor, sx: torch.Tensor, on_circle: bool):
    """A velocity's evidence (B, T, 1) mean and std at the seen frames of sequences that show fewer than three
    (where (B, T, 1)): with two, the slope of positions x (std sx; B, T) between them, its std propagated; with one,
    0 and std ``NO_EVIDENCE``. mask (B, T) > 0 where seen; times (B, T) in seconds."""
    seen = mask > 0
    t_len = seen.shape[1]
    at = torch.arange(t_len, device=mask.device).expand_as(seen)
    count = seen.sum(1, keepdim=True)  # (B, 1)
    first = torch.where(seen, at, t_len).amin(1, keepdim=True).clamp(max=t_len - 1)
    last = torch.where(seen, at, -1).amax(1, keepdim=True).clamp(min=0)
    d = x.gather(1, last) - x.gather(1, first)
    d = torch.atan2(d.sin(), d.cos()) if on_circle else d
    two = count == 2
    span = torch.where(two, times.gather(1, last) - times.gather(1, first), torch.ones_like(d))
    slope = torch.where(two, d / span, torch.zeros_like(d))
    spread = (sx.gather(1, first).pow(2) + sx.gather(1, last).pow(2)).sqrt() / span.abs()
    spread = torch.where(two, spread, torch.full_like(spread, NO_EVIDENCE))
    where = seen & (count < 3)
    return slope.expand_as(x)[..., None], spread.expand_as(x)[..., None], where[..., None]


def _derivative(
    st: Stencils,
    times: torch.Tensor,
    x: torch.Tensor,
    sx: torch.Tensor,
    on_circle: bool,
    truncation: bool,
    kink: bool = False,
):
    """Derivative (B, T, 1) of positions x (B, T) (std sx) over the stencils, and its std (B, T, 1): the
    positions' propagated and the truncation error's (the larger of its estimates with a fourth frame) — with
    ``truncation`` everywhere, else only where the stencil spans hidden frames; with ``kink``, where the stencil
    holds a kink, over the stencil on its smooth side instead (``kink_stencils``), or, where neither side is
    smooth, with the truncation error; and where it spans hidden frames, std ``NO_EVIDENCE``."""

    def relative(idx: torch.Tensor) -> torch.Tensor:  # positions at frames idx relative to frame t's
        d = _take(x, idx) - x[..., None]
        return torch.atan2(d.sin(), d.cos()) if on_circle else d  # differences on the circle

    nodes, fourth = relative(st.idx), relative(st.extra)  # (B, T, 3), (B, T, 2)
    spread, spread_fourth = _take(sx, st.idx), _take(sx, st.extra)
    v = (st.weights * nodes).sum(-1, keepdim=True)
    variance = (st.weights * spread).pow(2).sum(-1, keepdim=True)
    err = torch.stack(
        [
            truncation_error(
                torch.cat([nodes, fourth[..., i : i + 1]], -1),
                torch.cat([spread, spread_fourth[..., i : i + 1]], -1),
                torch.cat([st.node_times, st.extra_times[..., i : i + 1]], -1),
                times,
            )
            for i in range(2)
        ],
        -1,
    )
    err = torch.where(st.extra_ok, err, torch.zeros_like(err)).amax(-1, keepdim=True)
    spans_hidden = (st.idx[..., 2:] - st.idx[..., :1]) > 2
    widen = spans_hidden  # across hidden frames: the quadratic not trusted
    if truncation:
        widen = torch.ones_like(widen)
    if kink:
        values, spreads = _shifted(nodes, fourth), _shifted(spread, spread_fourth)
        side, kinked = kink_stencils(st, nodes, spread, values, spreads)
        widen = widen | (kinked & (side < 0))  # a kink on both sides: robust's answer
        for i, shifted_times in enumerate(_shifted(st.node_times, st.extra_times)):
            w = _derivative_weights(shifted_times, times)
            here = side == i
            v = torch.where(here, (w * values[i]).sum(-1, keepdim=True), v)
            variance = torch.where(here, (w * spreads[i]).pow(2).sum(-1, keepdim=True), variance)
    err = torch.where(widen, err, torch.zeros_like(err))
    std = (variance + err.pow(2)).sqrt()
    # across hidden frames a kink may hide where no curvature shows it: no evidence there, the prior's velocity
    if kink:
        std = torch.where(spans_hidden, torch.full_like(std, NO_EVIDENCE), std)
    return v, std


def kink_stencils(
    st: Stencils,
    nodes: torch.Tensor,
    spread: torch.Tensor,
    values: tuple[torch.Tensor, torch.Tensor],
    spreads: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where a kink (a bounce: the velocity jumps between two frames) lies inside a frame's centred stencil, the
    stencil shifted one seen frame to the side that holds none, as shock-capturing schemes choose their stencils.
    A kink shows as curvature: a stencil's second divided difference (half the quadratic's second derivative)
    away from the sequence's usual one — its median over the centred stencils, what a constant acceleration
    (gravity) gives every smooth stencil — by more than ``KINK_SIGNIFICANCE`` noise stds (propagated from the
    positions'). Of the shifted stencils, the one that holds none; where neither does, none (the caller widens the
    std instead); where both are smooth the kink is at the frame itself (a ball touching the wall) and the forward
    one is taken: the velocity the body leaves the frame with, which the transition carries to the next frame and
    which a simulator reports once the contact is resolved. Five frames cannot tell "a kink at the centre with
    curvature a" from "a kink two frames away with another curvature": the sequence's median is what decides.
    Shifted stencils are used only over adjacent seen frames.

    Args:
        st: the frames' stencils (``seen_stencils``).
        nodes, spread: (B, T, 3) positions at the stencil's frames, relative to frame t's, and their stds.
        values, spreads: the same over the stencils shifted back and forward (``_shifted``), (B, T, 3) each.

    Returns:
        side (B, T, 1): 0 for the stencil shifted back (the fourth frame before, the frame before, t), 1 forward
        (t, the frame after, the fourth frame after), −1 for the centred one; kinked (B, T, 1): whether the
        centred stencil holds a kink.
    """
    at = torch.arange(st.idx.shape[1], device=st.idx.device)
    centred = st.ok & (st.idx[..., 1:2] == at[:, None])
    f_c, n_c = (d[..., None] for d in divided_difference(nodes, spread, st.node_times))
    usual = (
        torch.where(centred, f_c, torch.full_like(f_c, float("nan")))
        .detach()
        .nanmedian(1, keepdim=True)
        .values
    )
    kinked = centred & ((f_c - usual).abs() > KINK_SIGNIFICANCE * n_c)
    shifted_times, shifted_idx = _shifted(st.node_times, st.extra_times), _shifted(st.idx, st.extra)
    side = torch.full(centred.shape, -1, dtype=torch.long, device=st.idx.device)
    for i in (0, 1):  # forward last: where both sides are smooth the kink is at the frame itself
        f_s, n_s = (d[..., None] for d in divided_difference(values[i], spreads[i], shifted_times[i]))
        adjacent = (shifted_idx[i][..., 2:] - shifted_idx[i][..., :1]) == 2
        smooth = (f_s - usual).abs() <= KINK_SIGNIFICANCE * n_s
        use = kinked & st.extra_ok[..., i : i + 1] & adjacent & smooth
        side = torch.where(use, torch.full_like(side, i), side)
    return side, kinked


def _shifted(stencil: torch.Tensor, extra: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A stencil's (B, T, 3) entries shifted one seen frame back and forward, with its fourth frames' (B, T, 2):
    (extra before, first, second) and (second, third, extra after)."""
    return (
        torch.cat([extra[..., :1], stencil[..., :2]], -1),
        torch.cat([stencil[..., 1:], extra[..., 1:]], -1),
    )


def _take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, T) at frame indices idx (B, T, 3)."""
    return x.gather(1, idx.flatten(1)).view(idx.shape)
