"""Where the learned dynamics rest, found from the dynamics themselves: a fixed point of the one-step map.

Data with an energy column show where the system rests (its lowest-energy frames). Video imported without one
does not, yet the learned transition knows: a resting pendulum stays put, so the bottom is a fixed point z* of the
one-step mean map f, f(z*) = z*. Newton's method on g(z) = f(z) − z, z ← z − (J(z) − I)⁺ g(z) (the
least-squares, minimum-norm step: see ``_newton``), started from the mean test latent and from the test latents
that move least in one step, finds the fixed points near the data; among those that

- converge: ‖f(z*) − z*‖ at most ``RESIDUAL`` of the RMS one-step movement of the test latents, and
- lie among the data: every coordinate within ``SPREAD`` standard deviations of the test latents' mean,

the rest point is the most stable one (the smallest spectral radius of J(z*): the bottom, not the inverted
pendulum's top, where both are near the data). None where no start converges to such a point (a model whose
dynamics have no rest among the frames it saw). Whether the point found is a rest at all (a spectral radius at
most 1: the dynamics do not grow there) is the caller's to judge (``dynamics.STABLE``). Works for any
transition with a one-step mean; the Jacobian is torch's autograd, Newton's solve numpy's in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

RESIDUAL = 1e-3  # ‖f(z*) − z*‖ over the RMS one-step movement of the test latents: converged below this
SPREAD = (
    3.0  # a fixed point farther than this many standard deviations (any coordinate) lies outside the data
)
STARTS = 8  # Newton starts besides the mean latent: the test latents that move least in one step
ITERATIONS = 30


@dataclass
class RestPoint:
    """A fixed point z* (D,) of the one-step mean map, its Jacobian (D, D) there, the residual ‖f(z*) − z*‖ over
    the test latents' RMS one-step movement, the largest |coordinate − mean| / std of z* over the test latents, the
    spectral radius of the Jacobian, and how many of the Newton starts converged among the data."""

    z: np.ndarray
    jacobian: np.ndarray
    residual: float
    spread: float
    radius: float
    converged: int
    starts: int

    def to_dict(self) -> dict:
        """What a metrics file keeps: z*, residual, spread, spectral radius, starts converged and tried."""
        return {
            "z": [float(v) for v in self.z],
            "residual": self.residual,
            "spread": self.spread,
            "spectral_radius": self.radius,
            "converged": self.converged,
            "starts": self.starts,
        }


def one_step(tr, dt: float, device) -> callable:
    """The transition's one-step mean as a function of latents (B, D) -> (B, D) (no control, initial state)."""

    def f(z: torch.Tensor) -> torch.Tensor:
        u = torch.zeros(len(z), tr.input_dim, device=device, dtype=z.dtype) if tr.input_dim else None
        return tr.step(z, tr.init_state(len(z), device, z.dtype), dt, u)[0]

    return f


def find_rest_point(f, z: np.ndarray, device="cpu") -> RestPoint | None:
    """The most stable fixed point of ``f`` (latents (B, D) -> (B, D), torch) near the latents ``z`` (N, D)
    (see the module docstring), or None."""
    z = np.asarray(z, dtype=np.float64)
    mean, std = z.mean(0), z.std(0) + 1e-12
    moved = _apply(f, z, device) - z
    scale = float(np.sqrt((moved**2).sum(-1).mean())) or 1.0
    starts = np.concatenate([mean[None], z[np.argsort((moved**2).sum(-1))[:STARTS]]])
    found = []
    for start in starts:
        point = _newton(f, start, device)
        residual = float(np.linalg.norm(_apply(f, point[None], device)[0] - point)) / scale
        spread = float(np.abs((point - mean) / std).max())
        if residual <= RESIDUAL and spread <= SPREAD:
            found.append((point, residual, spread))
    if not found:
        return None
    best = None
    for point, residual, spread in found:
        J = jacobian(f, point, device)
        radius = float(np.abs(np.linalg.eigvals(J)).max())
        if best is None or radius < best.radius:
            best = RestPoint(point, J, residual, spread, radius, len(found), len(starts))
    return best


def jacobian(f, z, device="cpu") -> np.ndarray:
    """J (D, D) of ``f`` at one latent z (D,) (numpy, or a torch tensor taken as it is), float64."""
    x = z if isinstance(z, torch.Tensor) else torch.as_tensor(z, dtype=torch.float32, device=device)
    J = torch.autograd.functional.jacobian(lambda v: f(v[None])[0], x)
    return J.detach().double().cpu().numpy()


def _apply(f, z: np.ndarray, device) -> np.ndarray:
    with torch.no_grad():
        return f(torch.as_tensor(z, dtype=torch.float32, device=device)).double().cpu().numpy()


def _newton(f, z: np.ndarray, device) -> np.ndarray:
    """Newton's iteration on f(z) − z from z (D,), each step halved until the residual falls (at most 10 times);
    the step solves (J − I) s = −g by least squares (minimum norm), so a direction along which every point is
    fixed (a conserved coordinate, J's eigenvalue 1) does not stop it."""
    eye = np.eye(len(z))
    g = _apply(f, z[None], device)[0] - z
    for _ in range(ITERATIONS):
        try:  # least squares: a conserved coordinate (a parameter the latent carries) makes J − I singular
            step = np.linalg.lstsq(jacobian(f, z, device) - eye, -g, rcond=None)[0]
        except np.linalg.LinAlgError:
            break
        for _ in range(10):
            trial = z + step
            g_trial = _apply(f, trial[None], device)[0] - trial
            if np.linalg.norm(g_trial) < np.linalg.norm(g):
                break
            step = step / 2
        else:
            break
        z, g = trial, g_trial
        if np.linalg.norm(g) < 1e-9:
            break
    return z
