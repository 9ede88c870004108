"""How well can a sequence's parameters be read from its frames at all? A shooting fit of the stated physics.

For each sequence b, the initial state y_0 and the parameters θ (positive ones through their logarithm, w) that
make the stated physics pass through the observed states:

    min  Σ_t Σ_s m_ts (y_ts(y_0, θ) ⊖ o_ts)² / σ²  +  Σ_p (w_p − μ_p)² / τ_p²,

with y_t the physics' own RK4 trajectory from y_0 (frame interval Δt, ``substeps`` steps per frame), o the observed
states (B, T, S), m a per-column weight (0 where a column is not observed: a pendulum's angle alone is what frames
show), σ the observation noise and (μ, τ) an optional Gaussian prior on w (the population of sequences; without it
the fit is least squares). Levenberg–Marquardt per sequence (a step is kept only where it lowers that sequence's
cost), from several starting values of w on the first frames, the best kept and refitted on windows doubled in
length up to the whole sequence; the Jacobian by forward differences in float64.

It is used as a *ceiling*, not as a model part: run on the true states with noise of a given size, it says how well
the parameters can be identified from a context of that length at that precision — before any encoder. Measured
on the DM colours pendulum (``benchmarks/bench_identifiability.py``): from 20 frames (1 s) an angle right to 0.01
rad reads g/l at R² 0.985, to 0.02 rad at 0.91, to 0.05 rad below 0 (a few fits far off; median error 9 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from simulators import ConfigError

from .base import KnownPhysics

DIFF_STEP = 1e-6  # forward-difference step of the Jacobian (float64)


@dataclass
class ShootingFit:
    """The fit of B sequences: y0 (B, S) initial states, params (B, P) in the physics' units, cost (B,), and
    w_std (B, P) the Gauss–Newton standard error of each raw parameter w (log units for a positive one; NaN for
    a held one), where the fit was asked for it (``standard_errors``; else None)."""

    y0: torch.Tensor
    params: torch.Tensor
    cost: torch.Tensor
    w_std: torch.Tensor | None = None


def trajectory(
    physics: KnownPhysics, y0: torch.Tensor, params: torch.Tensor, dt: float, frames: int, substeps: int = 2
) -> torch.Tensor:
    """The stated physics from y0 (B, S) with params (B, P), no inputs: states at T = ``frames`` frames (B, T, S)."""
    y, out = y0, [y0]
    for _ in range(frames - 1):
        y = physics.advance(y, params, None, dt, substeps)
        out.append(y)
    return torch.stack(out, 1)


def shooting_fit(
    physics: KnownPhysics,
    observed: torch.Tensor,
    weight: torch.Tensor,
    dt: float,
    starts: Sequence[Sequence[float]],
    noise: float = 1.0,
    prior: tuple[Sequence[float], Sequence[float]] | None = None,
    fixed: dict[str, float] | None = None,
    iterations: int = 30,
    substeps: int = 2,
    y0: torch.Tensor | None = None,
    first_frames: int = 20,
    standard_errors: bool = False,
) -> ShootingFit:
    """Fit y0 and θ to ``observed`` states (B, T, S) weighted by ``weight`` (S,) or (B, T, S).

    Args:
        starts: starting parameter vectors (each (P,), physics units).
        y0: where the initial state starts (B, S); default the first observed state (give an unobserved
            velocity a start from the observed positions: from zero a fast swing's fit can stall).
        first_frames: the starts are fitted to this many first frames; the best is then refitted on windows
            doubled in length up to T (over a long window a start far off lands in a wrong basin: the swing's
            phase wraps).
        noise: σ, the observations' noise (their units), which sets the prior's weight against the data.
        prior: (μ, τ) per parameter on w (the log of a positive parameter); None: plain least squares.
        fixed: parameters held at a value (a known damping, 0 allowed), by name; their Jacobian column is 0.
        iterations: Levenberg–Marquardt steps per start.
        standard_errors: also give ``w_std`` (one more Jacobian at the fit).
    """
    b, t_len, s = observed.shape
    p = len(physics.param_names)
    if s != physics.state_dim:
        raise ConfigError(f"observed states have {s} columns; {physics.name!r} has {physics.state_dim}")
    if not starts or any(len(x) != p for x in starts):
        raise ConfigError(f"starts must be parameter vectors of length {p} ({physics.param_names})")
    obs = observed.double()
    wgt = torch.as_tensor(weight, dtype=torch.float64).expand(b, t_len, s)
    positive = torch.tensor(physics.positive)
    unknown = sorted(set(fixed or {}) - set(physics.param_names))
    if unknown:
        raise ConfigError(
            f"fixed names {unknown[0]!r}, not a parameter of {physics.name!r} ({physics.param_names})"
        )
    free = torch.tensor([n not in (fixed or {}) for n in physics.param_names])
    held = torch.tensor([float((fixed or {}).get(n, 0.0)) for n in physics.param_names], dtype=torch.float64)
    if bool((held[positive & ~free] < 0).any()):
        raise ConfigError(f"a fixed positive parameter must be ≥ 0, got {fixed}")

    def to_params(w: torch.Tensor) -> torch.Tensor:  # (B, P) raw -> physics units, fixed ones held
        return torch.where(free, torch.where(positive, w.exp(), w), held)

    def residuals(x: torch.Tensor, n: int = t_len) -> torch.Tensor:  # x (B, S + P) -> (B, N), first n frames
        w = x[:, s:]
        traj = trajectory(physics, x[:, :s], to_params(w), dt, n, substeps)
        r = [(physics.difference(traj, obs[:, :n]) * wgt[:, :n].sqrt() / noise).flatten(1)]
        if prior is not None:
            mu, tau = (torch.as_tensor(v, dtype=torch.float64) for v in prior)
            r.append((w - mu) / tau * free)
        return torch.cat(r, 1)

    lengths = [
        min(first_frames * 2**k, t_len) for k in range(max(1, math.ceil(math.log2(t_len / first_frames)) + 1))
    ]
    lengths = sorted(set(lengths))
    first = obs[:, 0] if y0 is None else y0.double()
    best, best_cost = None, None
    for start in starts:  # each start on the first frames; the best carried on, the window doubled each time
        w0 = _to_w(torch.as_tensor(start, dtype=torch.float64), positive).expand(b, p)
        x = _levenberg_marquardt(lambda v: residuals(v, lengths[0]), torch.cat([first, w0], 1), iterations)
        cost = residuals(x, lengths[0]).pow(2).sum(1)
        if best is None:
            best, best_cost = x, cost
        else:
            best = torch.where((cost < best_cost)[:, None], x, best)
            best_cost = torch.minimum(cost, best_cost)
    for n in lengths[1:]:
        best = _levenberg_marquardt(lambda v, n=n: residuals(v, n), best, iterations)
    cost = residuals(best).pow(2).sum(1)
    w_std = None
    if standard_errors:
        mask = torch.cat([torch.ones(s, dtype=torch.bool), free])
        w_std = _standard_errors(residuals, best, mask, wgt, prior)[:, s:]
    return ShootingFit(best[:, :s], to_params(best[:, s:]), cost, w_std)


def _standard_errors(
    residuals, x: torch.Tensor, free: torch.Tensor, wgt: torch.Tensor, prior
) -> torch.Tensor:
    """(B, n) the Gauss–Newton standard errors of x's free entries at the fit (NaN for held ones):
    sqrt(diag(σ̂² (JᵀJ)⁻¹)) over the free columns, σ̂² = cost / (observations weighted > 0 − free entries) where
    the fit has no prior (the residuals' own scale), else 1 (the residuals already divided by the noise)."""
    idx = free.nonzero()[:, 0]
    r = residuals(x)
    step = torch.eye(x.shape[1], dtype=x.dtype)[idx] * DIFF_STEP
    jac = torch.stack([(residuals(x + e) - r) / DIFF_STEP for e in step], -1)  # (B, N, k)
    jtj = jac.transpose(1, 2) @ jac
    ridge = 1e-12 * jtj.diagonal(dim1=1, dim2=2).amax(-1) + 1e-30  # (B,): an unseen entry's error is ~1e15
    jtj = jtj + torch.eye(len(idx), dtype=x.dtype) * ridge[:, None, None]
    seen = (wgt > 0).flatten(1).sum(1).to(x.dtype)
    scale = (
        r.pow(2).sum(1) / (seen - len(idx)).clamp(min=1)
        if prior is None
        else torch.ones(len(x), dtype=x.dtype)
    )
    var = torch.linalg.inv(jtj).diagonal(dim1=1, dim2=2) * scale[:, None]
    out = torch.full(x.shape, float("nan"), dtype=x.dtype)
    out[:, idx] = var.clamp(min=0).sqrt()
    return out


def _to_w(params: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    if bool((params[..., positive] <= 0).any()):
        raise ConfigError("a positive parameter's start or fixed value must be > 0")
    return torch.where(positive, params.clamp(min=1e-300).log(), params)


def _levenberg_marquardt(residuals, x: torch.Tensor, iterations: int) -> torch.Tensor:
    """x (B, n) after ``iterations`` damped Gauss–Newton steps, each kept only where it lowers the cost."""
    n = x.shape[1]
    eye = torch.eye(n, dtype=x.dtype)
    damping = torch.full((len(x),), 1e-2, dtype=x.dtype)
    r = residuals(x)
    cost = r.pow(2).sum(1)
    for _ in range(iterations):
        jac = torch.stack([(residuals(x + DIFF_STEP * eye[i]) - r) / DIFF_STEP for i in range(n)], -1)
        jtj = jac.transpose(1, 2) @ jac
        grad = jac.transpose(1, 2) @ r[..., None]
        scaled = torch.diag_embed(damping[:, None] * jtj.diagonal(dim1=1, dim2=2) + 1e-12)
        trial = x - torch.linalg.solve(jtj + scaled, grad)[..., 0]
        r_trial = residuals(trial)
        c_trial = r_trial.pow(2).sum(1)
        ok = torch.isfinite(c_trial) & (c_trial < cost)
        x = torch.where(ok[:, None], trial, x)
        r = torch.where(ok[:, None], r_trial, r)
        cost = torch.where(ok, c_trial, cost)
        damping = torch.where(ok, damping / 3, damping * 4).clamp(1e-10, 1e10)
    return x
