"""What learned linear dynamics say: eigenvalues of a one-step map turned into frequencies and damping.

A discrete map z_{t+1} = A z_t that samples a damped oscillator ẍ = −ω₀² x − γ ẋ every Δt has eigenvalues
λ = exp((−γ/2 ± i ω_d) Δt), so ω_d = |arg λ| / Δt and the decay rate γ/2 = −ln|λ| / Δt.
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
    return [
        Mode(complex(v), float(abs(np.angle(v)) / dt), float(-np.log(max(abs(v), 1e-300)) / dt)) for v in lam
    ]


def oscillation(A: np.ndarray, dt: float) -> dict | None:
    """The dominant oscillating pair of a map: its ω_d, decay rate and the implied damping γ = 2 · decay and
    natural frequency ω₀ = √(ω_d² + decay²); None when the map has no complex eigenvalues."""
    pairs = [m for m in modes(A, dt) if m.eigenvalue.imag > 1e-9]
    if not pairs:
        return None
    m = pairs[0]
    return {
        "frequency": m.frequency,
        "decay": m.decay,
        "damping": 2 * m.decay,
        "natural_frequency": float(np.hypot(m.frequency, m.decay)),
    }
