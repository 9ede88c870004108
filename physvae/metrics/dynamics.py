"""What learned linear dynamics say: eigenvalues of a one-step map turned into frequencies and damping.

A discrete map z_{t+1} = A z_t that samples a damped oscillator ẍ = −ω₀² x − γ ẋ every Δt has eigenvalues
λ = exp((−γ/2 ± i ω_d) Δt), so ω_d = |arg λ| / Δt and the decay rate γ/2 = −ln|λ| / Δt.

A learned map in a wide latent has many oscillating pairs, most of them in directions the data never visits; the
slowest-decaying one (``oscillation``) is then often such a ghost. ``observed_oscillation`` picks the pair that
carries the true state instead: the one whose modal coordinates, computed on the data's latents, read it best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mode:
    """One eigen-mode of a linear map: angular frequency ω_d (rad per time unit), decay rate −ln|λ|/Δt."""

    eigenvalue: complex
    frequency: float
    decay: float

    def to_dict(self) -> dict:
        return {
            "eigenvalue": [self.eigenvalue.real, self.eigenvalue.imag],
            "frequency": self.frequency,
            "decay": self.decay,
        }


def modes(A: np.ndarray, dt: float) -> list[Mode]:
    """Eigen-modes of a (D, D) one-step map, sorted by decreasing |λ| (slowest decay first)."""
    lam = np.linalg.eigvals(np.asarray(A, dtype=np.float64))
    lam = lam[np.argsort(-np.abs(lam))]
    return [_mode(complex(v), dt) for v in lam]


def _mode(v: complex, dt: float) -> Mode:
    """The mode of eigenvalue v of a map stepping Δt: ω_d = |arg v| / Δt, decay −ln|v| / Δt."""
    return Mode(v, float(abs(np.angle(v)) / dt), float(-np.log(max(abs(v), 1e-300)) / dt))


def oscillation(A: np.ndarray, dt: float) -> dict | None:
    """The dominant oscillating pair of a map: its ω_d, decay rate and the implied damping γ = 2 · decay and
    natural frequency ω₀ = √(ω_d² + decay²); None when the map has no complex eigenvalues."""
    pairs = [m for m in modes(A, dt) if m.eigenvalue.imag > 1e-9]
    if not pairs:
        return None
    return _summary(pairs[0])


MAX_COND = 1e8  # eigenvector matrices worse conditioned than this give no modal amplitudes


def _summary(m: Mode) -> dict:
    return {
        "frequency": m.frequency,
        "decay": m.decay,
        "damping": 2 * m.decay,
        "natural_frequency": float(np.hypot(m.frequency, m.decay)),
    }


def observed_oscillation(A: np.ndarray, dt: float, z: np.ndarray, y: np.ndarray) -> dict | None:
    """The oscillating pair of a (D, D) map whose modal coordinates best read the state y (N, K) seen at latents
    z (N, D).

    Mode i's coordinate is c_i = (row i of V⁻¹)(z − z̄), V the right eigenvectors; a complex pair's (Re c_i, Im c_i)
    is a 2-D real feature, and its score is the mean R² over y's columns of a least-squares read-out of y from it.
    Each pair is scored on its own, so non-orthogonal modes cannot cancel into a false weight; a pair the data
    never visits reads nothing. Returns ``oscillation``'s figures plus ``r2`` (the chosen pair's score),
    ``runner_up`` (the next pair's score) and ``slowest`` (the slowest-decaying pair's figures, when it is
    another pair); None when the map has no complex eigenvalues. Where the eigenvectors are nearly parallel
    (condition number of V above ``MAX_COND``) modal coordinates are meaningless: the slowest pair is returned,
    with ``selected`` saying why.
    """
    A, z, y = (np.asarray(a, dtype=np.float64) for a in (A, z, y))
    lam, V = np.linalg.eig(A)
    if not (lam.imag > 1e-9).any():
        return None
    if not np.linalg.cond(V) <= MAX_COND:
        return {**oscillation(A, dt), "selected": "slowest pair (eigenvectors nearly parallel)"}
    c = (z - z.mean(0)) @ np.linalg.pinv(V).T  # (N, D) modal coordinates
    yc = y - y.mean(0)
    pairs = np.flatnonzero(lam.imag > 1e-9)
    scores = np.array([_read_r2(np.stack([c[:, i].real, c[:, i].imag], axis=1), yc) for i in pairs])
    order = np.argsort(-scores)
    best = pairs[order[0]]
    mode = _mode(complex(lam[best]), dt)
    out = {
        **_summary(mode),
        "selected": "the pair whose modal coordinates read the state best",
        "r2": float(scores[order[0]]),
        "runner_up": float(scores[order[1]]) if len(order) > 1 else None,
    }
    slowest = oscillation(A, dt)
    if not (np.isclose(slowest["frequency"], mode.frequency) and np.isclose(slowest["decay"], mode.decay)):
        out["slowest"] = slowest
    return out


def _read_r2(x: np.ndarray, yc: np.ndarray) -> float:
    """Mean over columns of the R² of the least-squares read-out of centred yc (N, K) from features x (N, F)."""
    x = x - x.mean(0)
    resid = yc - x @ np.linalg.lstsq(x, yc, rcond=None)[0]
    return float(np.mean(1 - resid.var(0) / np.maximum(yc.var(0), 1e-300)))
