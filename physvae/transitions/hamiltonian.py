"""Hamiltonian transition (HGN, SymODEN): z = (q, p) moved by a learned energy H_θ(q, p) with a symplectic step.

    q̇ = ∂H/∂p,    ṗ = −∂H/∂q − D(q) ∂H/∂p + B(q) u

with an optional learned dissipation D ⪰ 0 (damped systems) and control term B(q) u (driven ones). A separable
H = ½ pᵀM⁻¹p + V(q) is integrated by leapfrog (Störmer–Verlet, symplectic, no energy drift without D); a general
H(q, p) by RK4, which is not symplectic. The numerical core is ``physvae.hamiltonian``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from simulators import ConfigError, integer, positive

from .. import hamiltonian as ham
from .base import Transition
from .noise import ProcessNoise

DISSIPATION = ("none", "constant", "state")


@dataclass
class HamiltonianConfig:
    """Hamiltonian transition settings."""

    separable: bool = True  # H = ½ pᵀM⁻¹p + V(q), leapfrog; False: H an MLP of (q, p), RK4 (not symplectic)
    hidden: int = 64  # width of the MLP for V(q) (or H(q, p))
    layers: int = 2  # hidden layers of that MLP
    substeps: int = 2  # integrator steps per frame interval
    dissipation: str = (
        "none"  # "none"; "constant": D = diag(d) ≥ 0 learned; "state": D(q) = diag(softplus(MLP(q)))
    )
    init_noise: float = 0.05  # initial process-noise std

    def validate(self, where: str = "hamiltonian") -> None:
        integer(f"{where}.hidden", self.hidden, minimum=1)
        integer(f"{where}.layers", self.layers, minimum=1)
        integer(f"{where}.substeps", self.substeps, minimum=1)
        positive(f"{where}.init_noise", self.init_noise)
        if self.dissipation not in DISSIPATION:
            raise ConfigError(f"{where}.dissipation must be one of {DISSIPATION}, got {self.dissipation!r}")

    def check_latent(self, latent_dim: int, where: str = "hamiltonian") -> None:
        if latent_dim % 2:
            raise ConfigError(f"{where} needs an even latent_dim (z = (q, p), n each), got {latent_dim}")


class Dissipation(nn.Module):
    """D(q) as a (B, n) diagonal ≥ 0: a learned constant (starting near 0) or softplus of an MLP of q."""

    def __init__(self, n: int, kind: str, hidden: int):
        super().__init__()
        self.net = (
            nn.Sequential(nn.Linear(n, hidden), nn.Tanh(), nn.Linear(hidden, n)) if kind == "state" else None
        )
        self.raw = nn.Parameter(torch.full((n,), -4.0))  # softplus(−4) ≈ 0.018: almost conservative at first

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        raw = self.raw if self.net is None else self.raw + self.net(q)
        return F.softplus(raw).expand_as(q)


class Hamiltonian(Transition):
    """p(z_t | z_{t−1}) = N(Φ_Δt(z_{t−1}; u_{t−1}), diag σ²), Φ the integrator's flow of the equations above."""

    name, config_class = "hamiltonian", HamiltonianConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: HamiltonianConfig | None = None):
        cfg = config or HamiltonianConfig()
        cfg.validate()
        cfg.check_latent(latent_dim)
        super().__init__(latent_dim, input_dim)
        self.cfg, n = cfg, latent_dim // 2
        self.process_noise = ProcessNoise(latent_dim, cfg.init_noise)
        if cfg.separable:
            self.H: nn.Module = ham.SeparableHamiltonian(n, cfg.hidden, cfg.layers)
        else:
            self.H = ham.GeneralHamiltonian(n, cfg.hidden, cfg.layers)
        self.dissipation = None if cfg.dissipation == "none" else Dissipation(n, cfg.dissipation, cfg.hidden)
        if cfg.dissipation != "none" and not cfg.separable:
            raise ConfigError("hamiltonian.dissipation needs separable = true (a quadratic kinetic energy)")
        self.control = nn.Linear(input_dim, n, bias=False) if input_dim else None  # B u (constant B)

    @property
    def method(self) -> str:
        return "leapfrog" if self.cfg.separable else "rk4"

    def _force(self, u: torch.Tensor | None) -> torch.Tensor | None:
        return None if self.control is None or u is None else self.control(u)

    @classmethod
    def position_dims(cls, latent_dim: int, config) -> tuple[int, ...]:
        """q of z = (q, p)."""
        return tuple(range(latent_dim // 2))

    def step(self, z, state, dt, u):
        q, p = ham.split_qp(z)
        kw = {"dissipation": self.dissipation, "force": self._force(u)}
        if self.cfg.separable:
            q, p = ham.leapfrog(self.H, q, p, dt, self.cfg.substeps, **kw)
        else:
            q, p = ham.explicit_step(self.H, q, p, dt, self.cfg.substeps, "rk4", **kw)
        mean = torch.cat([q, p], -1)
        return mean, self.process_noise().expand_as(mean), state

    def rollout(self, z0, n_steps, dt, u=None, state=None):
        if isinstance(dt, torch.Tensor):  # uneven intervals (B, n_steps, 1): one step at a time
            return super().rollout(z0, n_steps, dt, u, state)
        q, p = ham.split_qp(z0)
        force = None if u is None or self.control is None else self.control(u)  # (B, T, n)
        qs, ps = ham.rollout(
            self.H, q, p, dt, n_steps, self.cfg.substeps, self.method, self.dissipation, force
        )
        return torch.cat([qs, ps], -1)

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """The learned H at latents z (N, 2n) -> (N,)."""
        return self.H.energy(*ham.split_qp(z))

    def vector_field(self, z: torch.Tensor) -> torch.Tensor:
        """dz/dt = (∂H/∂p, −∂H/∂q − D ∂H/∂p) (N, D) at z (N, D) with no control."""
        q, p = ham.split_qp(z)
        dq, dp = self.H.grads(q, p)
        if self.dissipation is not None:
            dq = dq + self.dissipation(q) * dp
        return torch.cat([dp, -dq], -1)
