"""Neural-ODE transition (Latent ODE, ODE2VAE): ż = f_θ(z) integrated with torchdiffeq between frame times.

With ``coordinates`` set to a system (``physvae.transitions.coordinates``) the latent holds that system's state
(angles as cos, sin) and the field is the acceleration q̈ = f_θ(features(q), q̇, u), integrated in the state y =
(q, q̇): the coordinates are stated, the dynamics learned."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from simulators import ConfigError, integer, non_negative, positive

from .. import gaussian
from ..physics.velocity_evidence import VELOCITY_EVIDENCE, derivative_evidence, velocity_evidence
from .base import Transition, velocity_look_ahead
from .coordinates import Coordinates, check_latent_size, check_states, stated_system
from .noise import ProcessNoise

FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "adaptive_heun", "fehlberg2")


class SolverStalled(RuntimeError):
    """An adaptive solver needed more than ``max_steps`` steps for one frame interval."""


@dataclass
class NeuralODEConfig:
    """Neural-ODE transition settings."""

    order: int = 2  # 1: ż = f(z); 2: z = (q, v), q̇ = v, v̇ = f(q, v) as in ODE2VAE (latent_dim must be even)
    # (measured on the DVBF pendulum: order 1 in a latent of 8 keeps the frequency past the training length, order 2
    # in 8 or 32 slows down; benchmarks/results/neural_ode_order_cpu2)
    hidden: int = 64  # width of the vector-field MLP
    layers: int = 2  # hidden layers of the vector-field MLP
    solver: str = "rk4"  # torchdiffeq method; fixed-step rk4 is the default (adaptive ones can stall)
    substeps: int = 2  # fixed-step solvers: steps per frame interval
    rtol: float = 1e-4  # adaptive solvers: relative tolerance
    atol: float = 1e-5  # adaptive solvers: absolute tolerance
    max_steps: int = 1000  # adaptive solvers: steps allowed per frame interval before SolverStalled
    adjoint: bool = False  # backpropagate with the adjoint method (memory O(1) in the steps)
    init_noise: float = 0.05  # initial process-noise std
    # "difference" (order 2): each v's evidence is the three-frame derivative of its q's evidence (v = q̇ holds
    # in the model), instead of the inference network's own
    velocity_evidence: str = "network"
    # weight (nats per frame per 1/s) of a penalty on the unforced field's phase-space divergence where it is
    # positive, at posterior latents: a dissipative prior (0: none; see ``NeuralODE.regularizer``)
    dissipation: float = 0.0
    dissipation_points: int = 256  # posterior latents per step the divergence is evaluated at
    # what the dissipation penalty holds at ≤ 0: "trace" (the divergence: phase-space volume) or "mode" (the
    # largest real part of the field's Jacobian eigenvalues: no locally growing motion at all)
    dissipation_on: str = "trace"
    # weight (per frame) of a penalty tying each posterior v_i to its q_i's motion (order 2): the mean over
    # frames and dimensions of (v_t − (q_{t+1} − q_{t−1}) / (t_{t+1} − t_{t−1}))², divided by that central
    # difference's variance over the batch (unitless); 0: none
    velocity_consistency: float = 0.0
    # "": free coordinates; a system's name ("pendulum", ...; order 2): the latent holds its state (angles as cos,
    # sin; velocities) then constant extras, and the field is q̈ = f(features(q), q̇, u) (see the module docstring)
    coordinates: str = ""

    def validate(self, where: str = "neural_ode") -> None:
        if self.order not in (1, 2):
            raise ConfigError(f"{where}.order must be 1 or 2, got {self.order!r}")
        if self.solver not in FIXED_STEP + ADAPTIVE:
            raise ConfigError(f"{where}.solver must be one of {FIXED_STEP + ADAPTIVE}, got {self.solver!r}")
        integer(f"{where}.hidden", self.hidden, minimum=1)
        integer(f"{where}.layers", self.layers, minimum=0)
        integer(f"{where}.substeps", self.substeps, minimum=1)
        integer(f"{where}.max_steps", self.max_steps, minimum=1)
        positive(f"{where}.rtol", self.rtol)
        non_negative(f"{where}.atol", self.atol)
        positive(f"{where}.init_noise", self.init_noise)
        non_negative(f"{where}.dissipation", self.dissipation)
        non_negative(f"{where}.velocity_consistency", self.velocity_consistency)
        if self.velocity_consistency > 0 and self.order != 2:
            raise ConfigError(f"{where}.velocity_consistency needs order 2 (z = (q, v)), got order 1")
        integer(f"{where}.dissipation_points", self.dissipation_points, minimum=1)
        if self.dissipation_on not in ("trace", "mode"):
            raise ConfigError(
                f"{where}.dissipation_on must be 'trace' or 'mode', got {self.dissipation_on!r}"
            )
        if self.velocity_evidence not in VELOCITY_EVIDENCE:
            raise ConfigError(
                f"{where}.velocity_evidence must be {' or '.join(map(repr, VELOCITY_EVIDENCE))}, "
                f"got {self.velocity_evidence!r}"
            )
        if self.velocity_evidence != "network" and self.order != 2:
            raise ConfigError(
                f"{where}.velocity_evidence={self.velocity_evidence!r} needs order 2 (z = (q, v)), got order 1"
            )

        if self.coordinates:
            stated_system(self.coordinates, f"{where}.coordinates")
            if self.order != 2:
                raise ConfigError(
                    f"{where}.coordinates={self.coordinates!r} needs order 2 (positions and velocities)"
                )
            for name in ("dissipation", "velocity_consistency"):
                if getattr(self, name) > 0:
                    raise ConfigError(
                        f"{where}.{name} applies to free coordinates; with {where}.coordinates="
                        f"{self.coordinates!r} the velocities are the positions' derivatives by construction"
                    )

    def check_latent(self, latent_dim: int, where: str = "neural_ode") -> None:
        if self.coordinates:
            check_latent_size(self.coordinates, latent_dim, f"{where}.coordinates")
        elif self.order == 2 and latent_dim % 2:
            raise ConfigError(f"{where}.order 2 needs an even latent_dim, got {latent_dim}")


class VectorField(nn.Module):
    """f_θ: (z, u) -> dz/dt (first order) or dv/dt (second order); counts its evaluations."""

    def __init__(
        self, latent_dim: int, input_dim: int, cfg: NeuralODEConfig, coords: Coordinates | None = None
    ):
        super().__init__()
        out = latent_dim if cfg.order == 1 else latent_dim // 2
        # q -> the network's input (an angle as cos, sin) in a system's coordinates
        self.features = None if coords is None else coords.features
        if coords is not None:  # on the state y = (q, q̇) (B, 2n): the field reads (features(q), q̇, u)
            latent_dim, out = coords.feature_dim + coords.n, coords.n
        dims = [latent_dim + input_dim] + [cfg.hidden] * cfg.layers
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.Tanh()]
        last = nn.Linear(dims[-1], out)
        nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)  # start as free motion: a stable model
        self.net = nn.Sequential(*layers, last)
        self.order, self.nfe = cfg.order, 0
        self.u: torch.Tensor | None = None  # control held constant over the current interval
        self.time_scale: torch.Tensor | None = None  # (B, 1) Δt while integrating in s = t/Δt (uneven frames)

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        x = z
        if self.features is not None:
            x = torch.cat([self.features(z[..., : z.shape[-1] // 2]), z[..., z.shape[-1] // 2 :]], -1)
        x = x if self.u is None else torch.cat([x, self.u], dim=-1)
        if self.order == 1:
            dz = self.net(x)
        else:
            dz = torch.cat([z[..., z.shape[-1] // 2 :], self.net(x)], dim=-1)
        return dz if self.time_scale is None else self.time_scale * dz


class NeuralODE(Transition):
    """p(z_t | z_{t−1}) = N(φ_Δt(z_{t−1}), diag σ²), φ the flow of ż = f_θ(z, u_{t−1}); σ learned."""

    name, config_class = "neural_ode", NeuralODEConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: NeuralODEConfig | None = None):
        cfg = config or NeuralODEConfig()
        cfg.validate()
        cfg.check_latent(latent_dim)
        super().__init__(latent_dim, input_dim)
        self.process_noise = ProcessNoise(latent_dim, cfg.init_noise)
        self.cfg = cfg
        self.physics = stated_system(cfg.coordinates, "neural_ode.coordinates") if cfg.coordinates else None
        self.coords = Coordinates(latent_dim, self.physics) if self.physics is not None else None
        self.embed_dim = latent_dim if self.coords is None else self.coords.embed_dim
        self.func = VectorField(latent_dim, input_dim, cfg, self.coords)

    def check_data(self, spec) -> None:
        """Refuse data whose states do not include the stated coordinates' system's (``check_states``)."""
        check_states(self.physics, spec, "model.neural_ode.coordinates")

    def flow(self, z: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Integrate from z (B, D) at times[0] to each of times (n,) -> (n, B, D); in a system's coordinates, the
        state y = (q, q̇) is integrated and embedded again, the extras held."""
        if self.coords is None:
            return self._solve(z, times)
        q, qdot, extras = self.coords.to_qp(z, None)
        ys = self._solve(torch.cat([q, qdot], -1), times)  # (n, B, 2n)
        n = self.coords.n
        return self.coords.from_qp(ys[..., :n], ys[..., n:], extras.expand(len(ys), *extras.shape), None)

    def _solve(self, z: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        times = times.to(device=z.device, dtype=z.dtype)
        kwargs: dict = {"method": cfg.solver}
        if cfg.solver in FIXED_STEP:
            kwargs["options"] = {"step_size": float(times[1] - times[0]) / cfg.substeps}
        else:
            kwargs.update(
                rtol=cfg.rtol, atol=cfg.atol, options={"max_num_steps": cfg.max_steps * (len(times) - 1)}
            )
        solve = odeint_adjoint if cfg.adjoint else odeint
        try:
            return solve(self.func, z, times, **kwargs)
        except AssertionError as e:
            if "max_num_steps" in str(e):
                raise SolverStalled(
                    f"{cfg.solver} took more than {cfg.max_steps} steps per frame interval: the learned dynamics "
                    "are stiff; use solver='rk4' or raise neural_ode.max_steps"
                ) from e
            raise

    @property
    def look_ahead_reason(self) -> str:
        """Velocity evidence from positions differentiates over the frame after t as well."""
        return velocity_look_ahead(self.name, self.cfg.velocity_evidence)

    def evidence(self, mean, std, mask, times):
        """With ``velocity_evidence = "difference"`` (or ``"robust"``: its std widened by the estimated truncation
        error; or ``"kink"``: at a detected kink, the stencil on its smooth side), each v_i's evidence from q_i's
        in three frames (``physvae.physics.velocity_evidence.derivative_evidence``); else the network's as it is."""
        if self.cfg.velocity_evidence == "network":
            return mean, std
        kind = self.cfg.velocity_evidence
        if self.physics is not None:  # the system's velocities from its positions
            return velocity_evidence(self.physics, mean, std, mask, times, kind == "robust", kind == "kink")
        h = self.latent_dim // 2
        pairs = [(h + i, mean[..., i], std[..., i], False) for i in range(h)]
        robust = self.cfg.velocity_evidence == "robust"
        return derivative_evidence(
            mean, std, mask, times, pairs, truncation=robust, kink=self.cfg.velocity_evidence == "kink"
        )

    @classmethod
    def position_dims(cls, latent_dim: int, config: NeuralODEConfig) -> tuple[int, ...] | None:
        """q of z = (q, v) for order 2 (q̇ = v), a system's positions in its coordinates; None for order 1."""
        if config.coordinates:
            return Coordinates(latent_dim, stated_system(config.coordinates)).position_dims()
        return tuple(range(latent_dim // 2)) if config.order == 2 else None

    def step(self, z, state, dt, u):
        self.func.u = u if self.input_dim else None
        if isinstance(dt, torch.Tensor):  # each sequence its own Δt (B, 1): integrate s = t/Δt over [0, 1]
            with _scaled(self, dt):
                mean = self.flow(z, torch.tensor([0.0, 1.0]))[-1]
        else:
            mean = self.flow(z, torch.tensor([0.0, dt]))[-1]
        return mean, self.process_noise().expand_as(mean), state

    def rollout(self, z0, n_steps, dt, u=None, state=None):
        if (u is not None and self.input_dim) or isinstance(dt, torch.Tensor):
            return super().rollout(z0, n_steps, dt, u, state)
        self.func.u = None
        times = torch.arange(n_steps + 1, dtype=z0.dtype) * dt
        return self.flow(z0, times)[1:].transpose(0, 1)  # (T, B, D) -> (B, T, D)

    def vector_field(self, z: torch.Tensor) -> torch.Tensor:
        """dz/dt (N, D) at z (N, D) with zero control (in a system's coordinates, the embedded state's motion;
        the extras do not move)."""
        self.func.u = (
            torch.zeros(len(z), self.input_dim, device=z.device, dtype=z.dtype) if self.input_dim else None
        )
        if self.coords is None:
            return self.func(torch.zeros((), device=z.device), z)
        q, qdot, extras = self.coords.to_qp(z, None)
        qddot = self.func(torch.zeros((), device=z.device), torch.cat([q, qdot], -1))[:, self.coords.n :]
        return torch.cat([self.coords.tangent(q, qdot, qddot), torch.zeros_like(extras)], -1)

    def divergence(self, z: torch.Tensor) -> torch.Tensor:
        """The unforced field's divergence (N,) in 1/s at latents z (N, D), differentiable: the trace of ∂ż/∂z,
        which for order 2 (q̇ = v) is the trace of ∂v̇/∂v. A damped system's is negative (a pendulum's −γ), a
        conservative one's 0; positive where the field pumps energy into motion no input drives."""
        h = self.latent_dim // 2 if self.cfg.order == 2 else 0
        z = z.detach()  # shapes the field only: the encoder cannot move latents to where it is negative
        free = z[:, h:].requires_grad_(True)
        with _uncounted(self.func):
            out = self.vector_field(torch.cat([z[:, :h], free], dim=-1))[:, h:]
        trace = torch.zeros(len(z), dtype=z.dtype, device=z.device)
        for i in range(out.shape[1]):
            trace = trace + torch.autograd.grad(out[:, i].sum(), free, create_graph=True)[0][:, i]
        return trace

    def growth_rate(self, z: torch.Tensor) -> torch.Tensor:
        """The largest real part (N,) in 1/s of the eigenvalues of the unforced field's Jacobian ∂ż/∂z at latents
        z (N, D), differentiable: positive where a small displacement grows (an unstable equilibrium's
        direction, or a growing oscillation), −γ/2 for an underdamped oscillator."""

        def field(x: torch.Tensor) -> torch.Tensor:
            return self.vector_field(x[None])[0]

        with _uncounted(self.func):
            jac = torch.func.vmap(torch.func.jacrev(field))(z.detach())
        return torch.linalg.eigvals(jac).real.max(dim=-1).values

    def regularizer(self, z: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor | None:
        """The sum of the penalties whose weights are set, from posterior latents z (B, T, D) at frame times
        (B, T) seconds; None when none is. ``dissipation``: · mean relu(div f) (``dissipation_on = "trace"``) or
        relu(growth rate) (``"mode"``) over up to ``dissipation_points`` latents: the unforced dynamics may conserve
        or lose phase-space volume (energy) where the data lies, not create it; with "mode" no direction may grow
        (stronger than physics: a pendulum beyond 90° has a growing direction). ``velocity_consistency``: see
        ``velocity_mismatch``."""
        if not torch.is_grad_enabled():
            return None
        terms = []
        if self.cfg.dissipation > 0:
            terms.append(self.cfg.dissipation * self._dissipation(z))
        if self.cfg.velocity_consistency > 0 and times is not None and z.shape[1] >= 3:
            terms.append(self.cfg.velocity_consistency * self.velocity_mismatch(z, times))
        return sum(terms) if terms else None

    def _dissipation(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.reshape(-1, z.shape[-1])
        if len(flat) > self.cfg.dissipation_points:
            flat = flat[torch.randperm(len(flat), device=flat.device)[: self.cfg.dissipation_points]]
        rate = self.divergence(flat) if self.cfg.dissipation_on == "trace" else self.growth_rate(flat)
        return torch.relu(rate).mean()

    def velocity_mismatch(self, z: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """How far the latent velocities are from their positions' motion (order 2), a scalar: the mean over
        frames 1 … T − 2 and dimensions i of (v_{t,i} − d_{t,i})² / var(d_i), d_t = (q_{t+1} − q_{t−1}) /
        (t_{t+1} − t_{t−1}) the central difference of z (B, T, D) at times (B, T) seconds, its variance over
        batch and frames (not differentiated). 0 where v is q̇; 0.04 where v is 0.8 q̇ throughout. A rollout
        moves q by v (q̇ = v), so a v shrunk against q's motion on the posterior slows every prediction."""
        h = self.latent_dim // 2
        times = times.to(dtype=z.dtype, device=z.device)
        q, v = z[..., :h], z[:, 1:-1, h:]
        d = (q[:, 2:] - q[:, :-2]) / (times[:, 2:] - times[:, :-2])[..., None]
        return gaussian.standardized_sq_error(v, d)

    @property
    def nfe(self) -> int:
        return self.func.nfe

    def reset_nfe(self) -> None:
        self.func.nfe = 0


@contextmanager
def _uncounted(func: VectorField):
    """Evaluations of the field that are not a solver's (a penalty's, an analysis's) leave its count as it was."""
    nfe = func.nfe
    try:
        yield
    finally:
        func.nfe = nfe


@contextmanager
def _scaled(transition: NeuralODE, dt: torch.Tensor):
    """Integrate dz/ds = Δt · f(z) over s ∈ [0, 1] (one Δt per sequence, (B, 1)) instead of dz/dt = f(z) over
    [0, Δt]: the same flow, with every sequence in one batched solve."""
    transition.func.time_scale = dt
    try:
        yield
    finally:
        transition.func.time_scale = None
