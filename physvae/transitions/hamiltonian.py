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

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from simulators import ConfigError, integer, positive

from .. import hamiltonian as ham
from ..physics.velocity_evidence import VELOCITY_EVIDENCE, derivative_evidence, velocity_evidence
from .base import Transition, velocity_look_ahead
from .coordinates import Coordinates, OfFeatures, check_latent_size, check_states, stated_system
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
    # "": z = (q, p), free coordinates, latent_dim / 2 each; a system's name ("pendulum", "double_pendulum",
    # "mass_spring"): the latent holds that system's state (angles as cos, sin; velocities q̇ = M⁻¹p), then constant
    # extras, and V, D(q), B(q) read an angle through (cos, sin) (``coordinates``; separable H only)
    coordinates: str = ""

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
        if self.coordinates:
            stated_system(self.coordinates, f"{where}.coordinates")
            if not self.separable:
                raise ConfigError(
                    f"{where}.coordinates={self.coordinates!r} needs separable = true (velocities q̇ = M⁻¹p)"
                )

    def check_latent(self, latent_dim: int, where: str = "hamiltonian") -> None:
        if self.coordinates:
            check_latent_size(self.coordinates, latent_dim, f"{where}.coordinates")
        elif latent_dim % 2:
            raise ConfigError(f"{where} needs an even latent_dim (z = (q, p), n each), got {latent_dim}")


# D = softplus(RATE · w): Adam moves w by about the learning rate per step whatever the gradient's size, so with
# w itself the constant stayed near its start (measured on the DVBF pendulum, γ = 0.5: 0.018 -> 0.024 at rest in
# 800 steps); RATE = 10 lets it cross the range of physical dampings in a few hundred steps
RATE = 10.0


class Dissipation(nn.Module):
    """D(q) as a (B, n) diagonal ≥ 0: a learned constant (starting near 0) or softplus of an MLP of q (of its
    ``features``: an angle through cos and sin) added to that constant's pre-activation."""

    def __init__(self, n: int, kind: str, hidden: int, coords: Coordinates | None = None):
        super().__init__()
        f = n if coords is None else coords.feature_dim
        mlp = nn.Sequential(nn.Linear(f, hidden), nn.Tanh(), nn.Linear(hidden, n))
        self.net = None if kind != "state" else mlp if coords is None else OfFeatures(coords, mlp)
        self.w = nn.Parameter(
            torch.full((n,), -4.0 / RATE)
        )  # softplus(−4) ≈ 0.018: almost conservative at first

    def constant_(self, value: float) -> None:
        """Set the constant part of D to ``value`` > 0 (in 1/s)."""
        with torch.no_grad():
            self.w.fill_(math.log(math.expm1(value)) / RATE)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        raw = RATE * self.w if self.net is None else RATE * self.w + self.net(q)
        return F.softplus(raw).expand_as(q)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Runs saved before RATE kept the pre-activation itself as ``raw``.
        old = state_dict.pop(prefix + "raw", None)
        if old is not None:
            state_dict.setdefault(prefix + "w", old / RATE)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class Control(nn.Module):
    """The inputs' generalized force on p, (B, n) from u (B, U): B u with a learned constant B (n, U), or
    B(q) u with B(q) (B, n, U) an MLP of q (``state``)."""

    def __init__(self, n: int, input_dim: int, state: bool, hidden: int, coords: Coordinates | None = None):
        super().__init__()
        self.n, self.input_dim = n, input_dim
        self.B = nn.Linear(input_dim, n, bias=False)
        f = n if coords is None else coords.feature_dim
        layers = [nn.Linear(f, hidden), nn.Tanh(), nn.Linear(hidden, n * input_dim)]
        nn.init.zeros_(layers[-1].weight), nn.init.zeros_(layers[-1].bias)  # B(q) starts as the constant B
        mlp = nn.Sequential(*layers)
        self.net = None if not state else mlp if coords is None else OfFeatures(coords, mlp)

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
        self.cfg = cfg
        self.physics = stated_system(cfg.coordinates) if cfg.coordinates else None  # what the latent holds
        coords = self.coords = Coordinates(latent_dim, self.physics)
        n, self.embed_dim = coords.n, coords.embed_dim
        self.process_noise = ProcessNoise(latent_dim, cfg.init_noise)
        if cfg.separable:
            potential = None
            if self.physics is not None:  # V of the positions' features: periodic in an angle
                potential = OfFeatures(coords, ham.mlp(coords.feature_dim, cfg.hidden, cfg.layers))
            self.H: nn.Module = ham.SeparableHamiltonian(n, cfg.hidden, cfg.layers, potential=potential)
        else:
            self.H = ham.GeneralHamiltonian(n, cfg.hidden, cfg.layers)
        kind = cfg.dissipation
        stated = coords if self.physics is not None else None  # networks of q read its features
        self.dissipation = None if kind == "none" else Dissipation(n, kind, cfg.hidden, stated)
        if cfg.dissipation != "none" and not cfg.separable:
            raise ConfigError("hamiltonian.dissipation needs separable = true (a quadratic kinetic energy)")
        state = cfg.control == "state"
        self.control = Control(n, input_dim, state, cfg.hidden, stated) if input_dim else None

    def check_data(self, spec) -> None:
        """Refuse data whose states do not include the stated coordinates' system's (``check_states``)."""
        check_states(self.physics, spec, "model.hamiltonian.coordinates")

    @property
    def method(self) -> str:
        return "leapfrog" if self.cfg.separable else "rk4"

    def _force(self, q: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor | None:
        """B(q) u at the step's start, held over the step as u is (B, n); None without inputs."""
        return None if self.control is None or u is None else self.control(q, u)

    @property
    def look_ahead_reason(self) -> str:
        """Momentum evidence from positions differentiates over the frame after t as well."""
        return velocity_look_ahead(self.name, self.cfg.velocity_evidence)

    def evidence(self, mean, std, mask, times):
        """With ``velocity_evidence`` other than "network", the momenta's evidence from the positions' in three
        frames (``derivative_evidence``: "robust" widens its std by the truncation error, "kink" reads it on a
        kink's smooth side). Free coordinates: p's evidence (B, T, n) is M q̇, its std propagated through the
        learned mass M (each p_i with the variance Σ_j M_ij² σ_j², the q̇_j taken independent). A stated system's
        latent holds q̇ itself: its velocities' evidence, as the ``physics`` transition reads it. Else the
        network's evidence as it is."""
        kind = self.cfg.velocity_evidence
        if kind == "network":
            return mean, std
        flags = {"truncation": kind == "robust", "kink": kind == "kink"}
        if self.physics is not None:
            return velocity_evidence(self.physics, mean, std, mask, times, **flags)
        n = self.latent_dim // 2
        pairs = [(n + i, mean[..., i], std[..., i], False) for i in range(n)]
        vel, vel_std = derivative_evidence(mean, std, mask, times, pairs, **flags)
        mass = self._mass().to(mean.dtype)  # (n, n), symmetric
        p = vel[..., n:] @ mass
        p_std = (vel_std[..., n:].square() @ mass.square()).sqrt()
        return torch.cat([mean[..., :n], p], -1), torch.cat([std[..., :n], p_std], -1)

    def _mass(self) -> torch.Tensor:
        """M (n, n) of the quadratic kinetic energy (a separable H)."""
        return torch.linalg.inv(self.H.inv_mass())

    def _chart_masses(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(M, M⁻¹) that carry a stated system's velocities to momenta and back; (None, None) in free
        coordinates, where z holds p itself and a step has nothing to invert (coordinates need a separable H)."""
        if self.physics is None:
            return None, None
        inv = self.H.inv_mass()
        return torch.linalg.inv(inv), inv

    @classmethod
    def position_dims(cls, latent_dim: int, config) -> tuple[int, ...]:
        """q of z = (q, p); for a stated system, its positions' dimensions (an angle's cos and sin)."""
        physics = stated_system(config.coordinates) if config.coordinates else None
        return Coordinates(latent_dim, physics).position_dims()

    def step(self, z, state, dt, u):
        mass, inv_mass = self._chart_masses()
        q, p, extras = self.coords.to_qp(z, mass)
        kw = {"dissipation": self.dissipation, "force": self._force(q, u)}
        if self.cfg.separable:
            q, p = ham.leapfrog(self.H, q, p, dt, self.cfg.substeps, **kw)
        else:
            q, p = ham.explicit_step(self.H, q, p, dt, self.cfg.substeps, "rk4", **kw)
        mean = self.coords.from_qp(q, p, extras, inv_mass)
        return mean, self.process_noise().expand_as(mean), state

    def rollout(self, z0, n_steps, dt, u=None, state=None):
        state_force = self.control is not None and u is not None and self.control.state_dependent
        # uneven intervals (B, n_steps, 1), or a force B(q) u that moves with q: one step at a time
        if isinstance(dt, torch.Tensor) or state_force:
            return super().rollout(z0, n_steps, dt, u, state)
        mass, inv_mass = self._chart_masses()
        q, p, extras = self.coords.to_qp(z0, mass)
        force = None if u is None or self.control is None else self.control(q, u)  # (B, T, n): B constant
        qs, ps = ham.rollout(
            self.H, q, p, dt, n_steps, self.cfg.substeps, self.method, self.dissipation, force
        )
        extras = extras[:, None].expand(-1, n_steps, -1)
        return self.coords.from_qp(qs, ps, extras, inv_mass)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Runs saved before B(q) kept the constant B as ``control.weight``.
        old = state_dict.pop(prefix + "control.weight", None)
        if old is not None:
            state_dict.setdefault(prefix + "control.B.weight", old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """The learned H at latents z (N, D) -> (N,)."""
        q, p, _ = self.coords.to_qp(z, self._chart_masses()[0])
        return self.H.energy(q, p)

    def vector_field(self, z: torch.Tensor) -> torch.Tensor:
        """dz/dt (N, D) at z (N, D) with no control: (∂H/∂p, −∂H/∂q − D ∂H/∂p) for free coordinates; for a
        stated system the embedded state's motion with q̇ = ∂H/∂p and q̈ = M⁻¹ṗ (the extras do not move)."""
        mass, inv_mass = self._chart_masses()
        q, p, extras = self.coords.to_qp(z, mass)
        dq, dp = self.H.grads(q, p)
        if self.dissipation is not None:
            dq = dq + self.dissipation(q) * dp
        if self.physics is None:
            return torch.cat([dp, -dq], -1)
        de = self.coords.tangent(q, dp, -dq @ inv_mass)
        return torch.cat([de, torch.zeros_like(extras)], -1)
