"""Hamiltonian transition (HGN, SymODEN): z = (q, p) moved by a learned energy H_θ(q, p) with a symplectic step.

    q̇ = ∂H/∂p,    ṗ = −∂H/∂q − D(q) ∂H/∂p + B(q) u

with an optional learned dissipation D ⪰ 0 (damped systems) and control term B u or B(q) u (driven ones; B(q)
where the inputs are generalized forces on coordinates the latent embeds, a torque on an angle the latent holds
as a point on a curve). A separable H = ½ pᵀM⁻¹p + V(q) is integrated by leapfrog (Störmer–Verlet, symplectic,
no energy drift without D); a general H(q, p) by RK4, which is not symplectic. The numerical core is
``physvae.hamiltonian``.

With ``velocity_evidence = "difference"`` (or "robust", "kink") the momenta's evidence is not the inference
network's: q̇ = ∂H/∂p = M⁻¹p holds in the model, so p = M q̇, with each q̇ the three-frame derivative of q's
evidence (``physvae.physics.velocity_evidence``), as the physics transition reads its angular velocity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from simulators import ConfigError, integer, positive

from .. import hamiltonian as ham
from ..physics.velocity_evidence import VELOCITY_EVIDENCE, derivative_evidence
from .base import Transition
from .noise import ProcessNoise

DISSIPATION = ("none", "constant", "state")
CONTROL = ("constant", "state")


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
    control: str = "constant"  # the inputs' force: "constant" B u; "state": B(q) u, B an MLP of q
    # "network": the inference network's evidence about p; "difference" ("robust", "kink"): p = M q̇, q̇ the
    # three-frame derivative of q's evidence (separable H only: M is its mass matrix)
    velocity_evidence: str = "network"

    def validate(self, where: str = "hamiltonian") -> None:
        integer(f"{where}.hidden", self.hidden, minimum=1)
        integer(f"{where}.layers", self.layers, minimum=1)
        integer(f"{where}.substeps", self.substeps, minimum=1)
        positive(f"{where}.init_noise", self.init_noise)
        if self.dissipation not in DISSIPATION:
            raise ConfigError(f"{where}.dissipation must be one of {DISSIPATION}, got {self.dissipation!r}")
        if self.control not in CONTROL:
            raise ConfigError(f"{where}.control must be one of {CONTROL}, got {self.control!r}")
        if self.velocity_evidence not in VELOCITY_EVIDENCE:
            raise ConfigError(
                f"{where}.velocity_evidence must be one of {VELOCITY_EVIDENCE}, got {self.velocity_evidence!r}"
            )
        if self.velocity_evidence != "network" and not self.separable:
            raise ConfigError(
                f"{where}.velocity_evidence={self.velocity_evidence!r} needs separable = true (p = M q̇ with the "
                "mass matrix of a quadratic kinetic energy)"
            )

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


class Control(nn.Module):
    """The inputs' generalized force on p, (B, n) from u (B, U): B u with a learned constant B (n, U), or
    B(q) u with B(q) (B, n, U) an MLP of q (``state``)."""

    def __init__(self, n: int, input_dim: int, state: bool, hidden: int):
        super().__init__()
        self.n, self.input_dim = n, input_dim
        self.B = nn.Linear(input_dim, n, bias=False)
        layers = [nn.Linear(n, hidden), nn.Tanh(), nn.Linear(hidden, n * input_dim)]
        self.net = nn.Sequential(*layers) if state else None
        if self.net is not None:  # B(q) starts as the constant B
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    @property
    def state_dependent(self) -> bool:
        return self.net is not None

    def forward(self, q: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        force = self.B(u)
        if self.net is None:
            return force
        gain = self.net(q).view(*q.shape[:-1], self.n, self.input_dim)
        return force + (gain @ u.unsqueeze(-1)).squeeze(-1)


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
        self.control = Control(n, input_dim, cfg.control == "state", cfg.hidden) if input_dim else None

    @property
    def method(self) -> str:
        return "leapfrog" if self.cfg.separable else "rk4"

    def _force(self, q: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor | None:
        """B(q) u at the step's start, held over the step as u is (B, n); None without inputs."""
        return None if self.control is None or u is None else self.control(q, u)

    @property
    def looks_ahead(self) -> bool:
        """Momentum evidence from positions differentiates over the frame after t as well."""
        return self.cfg.velocity_evidence != "network"

    def evidence(self, mean, std, mask, times):
        """With ``velocity_evidence`` other than "network", p's evidence (B, T, n) is M q̇: q̇ the three-frame
        derivative of q's evidence (``derivative_evidence``: "robust" widens its std by the truncation error,
        "kink" reads it on a kink's smooth side), its std propagated through the learned mass matrix M (each p_i
        with the variance Σ_j M_ij² σ_j², the q̇_j taken independent); else the network's as it is."""
        if self.cfg.velocity_evidence == "network":
            return mean, std
        n, kind = self.latent_dim // 2, self.cfg.velocity_evidence
        pairs = [(n + i, mean[..., i], std[..., i], False) for i in range(n)]
        vel, vel_std = derivative_evidence(
            mean, std, mask, times, pairs, truncation=kind == "robust", kink=kind == "kink"
        )
        mass = torch.linalg.inv(self.H.inv_mass()).to(mean.dtype)  # (n, n), symmetric
        p = vel[..., n:] @ mass
        p_std = (vel_std[..., n:].square() @ mass.square()).sqrt()
        return torch.cat([mean[..., :n], p], -1), torch.cat([std[..., :n], p_std], -1)

    @classmethod
    def position_dims(cls, latent_dim: int, config) -> tuple[int, ...]:
        """q of z = (q, p)."""
        return tuple(range(latent_dim // 2))

    def step(self, z, state, dt, u):
        q, p = ham.split_qp(z)
        kw = {"dissipation": self.dissipation, "force": self._force(q, u)}
        if self.cfg.separable:
            q, p = ham.leapfrog(self.H, q, p, dt, self.cfg.substeps, **kw)
        else:
            q, p = ham.explicit_step(self.H, q, p, dt, self.cfg.substeps, "rk4", **kw)
        mean = torch.cat([q, p], -1)
        return mean, self.process_noise().expand_as(mean), state

    def rollout(self, z0, n_steps, dt, u=None, state=None):
        state_force = self.control is not None and u is not None and self.control.state_dependent
        # uneven intervals (B, n_steps, 1), or a force B(q) u that moves with q: one step at a time
        if isinstance(dt, torch.Tensor) or state_force:
            return super().rollout(z0, n_steps, dt, u, state)
        q, p = ham.split_qp(z0)
        force = None if u is None or self.control is None else self.control(q, u)  # (B, T, n): B constant
        qs, ps = ham.rollout(
            self.H, q, p, dt, n_steps, self.cfg.substeps, self.method, self.dissipation, force
        )
        return torch.cat([qs, ps], -1)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Runs saved before B(q) kept the constant B as ``control.weight``.
        old = state_dict.pop(prefix + "control.weight", None)
        if old is not None:
            state_dict.setdefault(prefix + "control.B.weight", old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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
