"""Known-physics ("grey-box") transition: the latent holds the physical state, moved by stated equations with
unknown parameters learned from video.

The first E latent dimensions are the state y of a ``physvae.physics.KnownPhysics`` (angles as (cos, sin)); the
rest are extra dimensions held constant from frame to frame (what the frames show that does not move: colour,
size). Each step integrates dy/dt = f(y, θ, u) [+ r(y), an optional neural residual] over Δt by RK4 with
``substeps`` steps. The parameters θ are global (learned) or per sequence (global value adjusted by a small
recurrent network over the inference network's evidence about the state: the context frames when predicting).

With ``drift`` naming parameters, those move slowly within a sequence: the last len(drift) latent dimensions hold
their offsets from the global values (log units for positive parameters), a random walk with its own small learned
noise (a slow latent under the fast physical state, read by the ``timescales`` section); the decoder does not read
them (a parameter is not drawn), so the frames' motion is what infers them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from simulators import ConfigError, integer, non_negative, positive

from ..data import uneven
from ..physics import PHYSICS, KnownPhysics
from ..physics.base import rk4
from ..physics.drift_evidence import fit_drift
from ..physics.sequence_fit import fit_offsets
from ..physics.velocity_evidence import VELOCITY_EVIDENCE, velocity_evidence
from .base import Transition, velocity_look_ahead
from .noise import ProcessNoise

PARAM_MODES = ("global", "sequence", "fit")
DRIFT_EVIDENCE = ("network", "fit")
DRIFT_STD_SCALE = 3.0  # initial factor on the drift fits' standard errors (learned: drift_std_scale, log)


@dataclass
class PhysicsConfig:
    """Known-physics transition settings."""

    system: str = "pendulum"  # key of physvae.physics.PHYSICS: the stated equations
    # "global": one learned value each; "sequence": per sequence, read from its evidence by a small network;
    # "fit": per sequence, the stated physics fitted to its evidence (physvae.physics.sequence_fit)
    params: str = "global"
    residual: bool = False  # add a neural residual r(y) to dy/dt for what the stated physics misses
    residual_weight: float = (
        1.0  # penalty λ · mean ‖r‖² added to the loss (keeps r small where physics is right)
    )
    hidden: int = 32  # width of the residual MLP and of the per-sequence parameter network
    substeps: int = 2  # RK4 steps per frame interval
    param_scale: float = (
        10.0  # parameters are scale · w (log-parameters for positive ones): w moves scale× faster
    )
    init_noise: float = 0.05  # initial process-noise std
    sequence_range: float = 0.0  # per-sequence parameters within ±this of the global ones; 0: unbounded
    known: dict[str, float] = field(default_factory=dict)  # known parameters, name -> value: held
    match_states: bool = True  # refuse data whose true state columns do not include the physics' states
    velocity_evidence: str = (
        "network"  # "difference": from positions in three frames; "robust": std + its error; "kink": ENO
    )
    # positive parameters learned as |scale · w| instead of exp(scale · w), so they can reach 0 (an undamped
    # system's damping): through a logarithm Adam moves them by a share per step and they only creep towards 0
    may_vanish: list[str] = field(default_factory=list)
    # parameters that drift within a sequence: each a slow latent dimension (at the end of z) holding its offset
    # from the global value, log units for positive ones, stepped as a random walk
    drift: list[str] = field(default_factory=list)
    drift_noise: float = 0.01  # initial std of the drift dimensions' random walk per frame
    # the drift dimensions' evidence: "network" (the inference network's, like every other dimension) or "fit"
    # (the stated physics fitted to the state evidence in a window of drift_window frames around each frame)
    drift_evidence: str = "network"
    drift_window: int = 15

    def validate(self, where: str = "physics") -> None:
        if self.system not in PHYSICS:
            raise ConfigError(f"{where}.system must be one of {sorted(PHYSICS)}, got {self.system!r}")
        if self.params not in PARAM_MODES:
            raise ConfigError(f"{where}.params must be one of {PARAM_MODES}, got {self.params!r}")
        non_negative(f"{where}.residual_weight", self.residual_weight)
        integer(f"{where}.hidden", self.hidden, minimum=1)
        integer(f"{where}.substeps", self.substeps, minimum=1)
        positive(f"{where}.param_scale", self.param_scale)
        positive(f"{where}.init_noise", self.init_noise)
        non_negative(f"{where}.sequence_range", self.sequence_range)
        positive(f"{where}.drift_noise", self.drift_noise)
        if self.drift_evidence not in DRIFT_EVIDENCE:
            raise ConfigError(
                f"{where}.drift_evidence must be one of {DRIFT_EVIDENCE}, got {self.drift_evidence!r}"
            )
        integer(f"{where}.drift_window", self.drift_window, minimum=4)
        vanishing = sorted(set(self.drift) & set(self.may_vanish))
        if vanishing:
            raise ConfigError(
                f"{where}.drift names {vanishing[0]!r}, which {where}.may_vanish also names: a drifting parameter's "
                "offset is taken through its logarithm"
            )
        if self.drift and self.params != "global":
            raise ConfigError(
                f"{where}.drift needs {where}.params='global' (the drifting offsets are latent dimensions, not a "
                f"per-sequence fit), got params={self.params!r}"
            )
        if self.velocity_evidence not in VELOCITY_EVIDENCE:
            raise ConfigError(
                f"{where}.velocity_evidence must be one of {VELOCITY_EVIDENCE}, got {self.velocity_evidence!r}"
            )

    def check_latent(self, latent_dim: int, where: str = "physics") -> None:
        ph = PHYSICS[self.system]
        need = ph.embed_dim + len(self.drift)
        if latent_dim < need:
            drifting = f" and {len(self.drift)} for the drifting {self.drift}" if self.drift else ""
            raise ConfigError(
                f"{where}.system {self.system!r} needs latent_dim ≥ {need} (its state "
                f"{ph.state_names}, angles as cos and sin{drifting}), got {latent_dim}"
            )

    def drift_dims(self, latent_dim: int) -> tuple[int, ...]:
        """The latent dimensions holding the drifting parameters' offsets: the last len(drift)."""
        return tuple(range(latent_dim - len(self.drift), latent_dim))


class Physics(Transition):
    """p(z_t | z_{t−1}) = N((embed(Φ_Δt(y_{t−1}; θ, u_{t−1})), z_extra), diag σ²), y = chart(z_{:E})."""

    name, config_class = "physics", PhysicsConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: PhysicsConfig | None = None):
        cfg = config or PhysicsConfig()
        cfg.validate()
        cfg.check_latent(latent_dim)
        super().__init__(latent_dim, input_dim)
        self.cfg = cfg
        self.physics: KnownPhysics = PHYSICS[cfg.system].for_inputs(input_dim)
        ph, e = self.physics, self.physics.embed_dim
        self.embed_dim = e
        self.process_noise = ProcessNoise(latent_dim, cfg.init_noise)
        init = torch.tensor(ph.param_init, dtype=torch.get_default_dtype())
        pos = torch.tensor(ph.positive)
        vanish = _may_vanish(cfg.may_vanish, ph)
        self.register_buffer("positive", pos & ~vanish, persistent=False)  # (P,) learned through a logarithm
        self.register_buffer("vanish", vanish, persistent=False)  # (P,) learned as |scale · w|
        self.w = nn.Parameter(self.unconstrain(init))  # (P,)
        known = _known_values(cfg.known, ph)
        self.register_buffer("known_mask", ~known.isnan(), persistent=False)  # (P,) True: held at its value
        self.register_buffer("known_values", known.nan_to_num(), persistent=False)  # (P,)
        # (P, K): column k puts the k-th drifting offset (latent units) on its parameter's w (w units)
        self.register_buffer(
            "drift_map", _drift_map(cfg.drift, cfg.known, ph) / cfg.param_scale, persistent=False
        )
        self._drift_dims = cfg.drift_dims(latent_dim)
        if cfg.drift:
            with torch.no_grad():
                self.process_noise.log_std[list(self._drift_dims)] = math.log(cfg.drift_noise)
        if cfg.drift and cfg.drift_evidence == "fit":
            # the fits' standard errors times a learned factor: they treat the state evidence's errors as
            # independent from frame to frame, and measured on a trained pendulum they were 2–3.5× too small
            self.drift_std_scale = nn.Parameter(torch.tensor(math.log(DRIFT_STD_SCALE)))
        self.param_net: nn.Module | None = None
        if cfg.params == "sequence":
            self.param_net = nn.GRU(e + 1, cfg.hidden, batch_first=True)
            self.param_head = nn.Linear(cfg.hidden, len(ph.param_names))
            nn.init.zeros_(self.param_head.weight), nn.init.zeros_(self.param_head.bias)
        self.residual: nn.Module | None = None
        if cfg.residual and ph.flow is not None:
            raise ConfigError(
                f"model.physics.residual: {ph.name!r} steps by its own flow (not a right-hand side RK4 integrates), "
                "so a residual cannot be added to it"
            )
        if cfg.residual:
            last = nn.Linear(cfg.hidden, ph.state_dim)
            nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)  # start as the stated physics alone
            self.residual = nn.Sequential(nn.Linear(e, cfg.hidden), nn.Tanh(), last)

    def check_data(self, spec) -> None:
        """Refuse data (a DataSpec) whose declared states do not include the stated physics' own, unless
        ``match_states`` is off; video without true states is not checked."""
        names = self.physics.state_names
        if self.cfg.match_states and spec.state_names and not set(names) <= set(spec.state_names):
            raise ConfigError(
                f"model.physics.system {self.physics.name!r} moves the states {names}, but the data's states are "
                f"{spec.state_names}: choose the system the video shows, or set model.physics.match_states=false"
            )

    @property
    def look_ahead_reason(self) -> str:
        """Velocity evidence from positions differentiates over the frame after t as well; a drift fitted over a
        window around t sees the frames after it."""
        velocity = velocity_look_ahead(self.name, self.cfg.velocity_evidence)
        drift = "model.physics.drift_evidence='fit': the drift at frame t is fitted over a window around it"
        return velocity or (drift if self._fits_drift else "")

    @property
    def _fits_drift(self) -> bool:
        return bool(self.cfg.drift) and self.cfg.drift_evidence == "fit"

    def evidence(self, mean, std, mask, times):
        """With ``velocity_evidence = "difference"`` (or ``"robust"``: its std widened by the estimated truncation
        error; or ``"kink"``: at a detected kink, the stencil on its smooth side), the velocities' evidence from
        their positions' in three frames (``physvae.physics.velocity_evidence``); else the network's as it is.
        With ``drift_evidence = "fit"`` the drift dimensions' evidence is the stated physics fitted to the state
        evidence around each frame (``physvae.physics.drift_evidence``)."""
        if self.cfg.velocity_evidence != "network":
            robust = self.cfg.velocity_evidence == "robust"
            mean, std = velocity_evidence(
                self.physics,
                mean,
                std,
                mask,
                times,
                truncation=robust,
                kink=self.cfg.velocity_evidence == "kink",
            )
        if self._fits_drift:
            offsets, spread = fit_drift(self, mean, mask, _even_interval(times), self.cfg.drift_window)
            spread = spread * self.drift_std_scale.exp()
            keep = mean.shape[-1] - len(self.cfg.drift)
            mean = torch.cat([mean[..., :keep], offsets], -1)
            std = torch.cat([std[..., :keep], spread], -1)
        return mean, std

    # --- parameters ---------------------------------------------------------------------------------------
    def constrain(self, w: torch.Tensor) -> torch.Tensor:
        """Raw w (..., P) -> parameters θ (..., P): scale · w, exponentiated where a parameter is positive, its
        absolute value where it may vanish (``may_vanish``)."""
        s = self.cfg.param_scale * w
        return torch.where(self.positive, s.exp(), torch.where(self.vanish, s.abs(), s))

    def unconstrain(self, theta: torch.Tensor) -> torch.Tensor:
        """Parameters θ (..., P), ≥ 0 where positive -> a raw w (..., P) that ``constrain`` maps back to θ."""
        return torch.where(self.positive, theta.log(), theta) / self.cfg.param_scale

    def global_params(self) -> torch.Tensor:
        """θ (P,) of the global parameters (per-sequence ones vary around them); known ones at their values."""
        return self._hold_known(self.constrain(self.w))

    def _hold_known(self, theta: torch.Tensor) -> torch.Tensor:
        """θ (..., P) with the ``known`` parameters replaced by their values."""
        return torch.where(self.known_mask, self.known_values.to(theta.dtype), theta)

    def init_state_from(self, evidence: torch.Tensor, mask: torch.Tensor, dt=None, inputs=None):
        """Per-sequence parameters from the evidence about the state: evidence (B, T, D), mask (B, T), frame
        intervals dt and inputs (B, T, U) -> the offsets of w (B, P), carried as the transition's state; None for
        global parameters."""
        if self.cfg.params == "fit":
            offset = fit_offsets(self, evidence, mask, dt, inputs)
        elif self.param_net is None:
            return None
        else:
            x = torch.cat([evidence[..., : self.embed_dim] * mask[..., None], mask[..., None]], -1)
            _, h = self.param_net(x)  # h (1, B, H): after the last frame seen
            offset = self.param_head(h[0])
        if self.cfg.sequence_range > 0:  # tanh keeps exp(scale · w) from overflowing in a stiff sequence
            r = self.cfg.sequence_range / self.cfg.param_scale  # in w: log units (positive), else θ units
            offset = r * torch.tanh(offset / r)
        return offset

    def params(self, state, batch: int, z: torch.Tensor | None = None) -> torch.Tensor:
        """θ (B, P) for a batch: the global values, adjusted per sequence where ``state`` holds offsets and per
        frame by the drifting offsets in latents z (B, D), if given."""
        w = self.w.expand(batch, -1) if state is None else self.w + state
        if z is not None and self._drift_dims:
            w = w + z[:, list(self._drift_dims)] @ self.drift_map.T
        return self._hold_known(self.constrain(w))

    @property
    def slow_dims(self) -> tuple[int, ...]:
        """The drifting parameters' offsets (``drift``); () without."""
        return self._drift_dims

    @classmethod
    def hidden_dims(cls, latent_dim: int, config: PhysicsConfig) -> tuple[int, ...]:
        """The drifting parameters' offsets: a parameter is not drawn."""
        return config.drift_dims(latent_dim)

    def drifting_params(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The drifting parameters at every frame of latents z (B, T, D): {name: (B, T)} (global parameters)."""
        theta = self.frame_params(z)
        by_name = dict(zip(self.physics.param_names, theta.unbind(-1)))
        return {name: by_name[name] for name in self.cfg.drift}

    def frame_params(self, z: torch.Tensor) -> torch.Tensor:
        """θ (B, T, P) at every frame of latents z (B, T, D): the global values moved by z's drifting offsets (a
        drift needs global parameters, so there is no per-sequence part)."""
        b, t = z.shape[:2]
        return self.params(None, b * t, z.flatten(0, 1)).view(b, t, -1)

    def sequence_params(self, state) -> torch.Tensor | None:
        """θ (B, P) inferred per sequence (``state`` from ``init_state_from``), or None for global parameters."""
        return None if state is None else self.params(state, len(state))

    # --- dynamics -------------------------------------------------------------------------------------------
    def derivative(self, y: torch.Tensor, theta: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """dy/dt (B, S): the stated right-hand side plus the residual r(y), if any."""
        f = self.physics.rhs(y, theta, u if self.physics.input_dim else None)
        return f if self.residual is None else f + self.residual(self.physics.embed(y))

    def flow(self, y: torch.Tensor, theta: torch.Tensor, dt: float, u: torch.Tensor | None) -> torch.Tensor:
        """y (B, S) after Δt, θ (B, P) and u held constant: RK4 with ``substeps`` steps (the physics' own flow
        where it has one, e.g. a box's walls)."""
        if self.residual is None:
            return self.physics.advance(
                y, theta, u if self.physics.input_dim else None, dt, self.cfg.substeps
            )
        return rk4(lambda v: self.derivative(v, theta, u), y, dt, self.cfg.substeps)  # no own flow: refused

    def step(self, z, state, dt, u):
        e = self.embed_dim
        y = self.physics.chart(z[:, :e])
        y = self.flow(y, self.params(state, len(z), z), dt, u)
        mean = torch.cat([self.physics.embed(y), z[:, e:]], -1)
        return mean, self.process_noise().expand_as(mean), state

    def vector_field(self, z: torch.Tensor) -> torch.Tensor:
        """dz/dt (N, D) at z (N, D) with the global parameters (and z's drifting offsets) and no control (the
        extras and offsets do not move)."""
        ph, e = self.physics, self.embed_dim
        y = ph.chart(z[:, :e])
        dy = self.derivative(y, self.params(None, len(z), z), None)
        _, de = torch.func.jvp(ph.embed, (y,), (dy,))
        return torch.cat([de, torch.zeros_like(z[:, e:])], -1)

    def _residual_at(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The state y (..., S) of latents z (..., D) and the residual r(y) there (..., S)."""
        y = self.physics.chart(z[..., : self.embed_dim])
        return y, self.residual(self.physics.embed(y))

    def regularizer(self, z: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor | None:
        """λ · mean ‖r(y)‖² over posterior latents z (B, T, D); None without a residual."""
        if self.residual is None:
            return None
        _, r = self._residual_at(z)
        return self.cfg.residual_weight * r.pow(2).sum(-1).mean()

    def residual_share(self, z: torch.Tensor) -> float | None:
        """mean ‖r‖ / mean ‖f + r‖ over latents z (N, D), global parameters; None without a residual."""
        if self.residual is None:
            return None
        y, r = self._residual_at(z)
        total = self.physics.rhs(y, self.params(None, len(z)), None) + r
        return float(r.norm(dim=-1).mean() / total.norm(dim=-1).mean().clamp(min=1e-12))


def _may_vanish(names: list[str], ph: KnownPhysics) -> torch.Tensor:
    """(P,) bool: the parameters named in ``model.physics.may_vanish``; a ConfigError naming one that is not a
    positive parameter of ``ph``."""
    positives = [n for n, p in zip(ph.param_names, ph.positive) if p]
    for name in names:
        if name not in positives:
            raise ConfigError(
                f"model.physics.may_vanish names {name!r}, not a positive parameter of {ph.name!r}: its positive "
                f"parameters are {positives}"
            )
    return torch.tensor([n in names for n in ph.param_names])


def _even_interval(times: torch.Tensor) -> float:
    """The frame interval (seconds) of frame times (B, T); a ConfigError where the frames are unevenly timed
    (``physvae.data.uneven``, the rule that decides whether a dataset's times reach the model at all)."""
    t = times.detach().cpu().double().numpy()
    if uneven(t):
        raise ConfigError(
            "model.physics.drift_evidence='fit' needs evenly timed frames (its windows are fitted at one frame "
            "interval); these frames' intervals differ: use drift_evidence='network'"
        )
    return float(np.median(np.diff(t, axis=1))) if t.shape[1] > 1 else 1.0


def _drift_map(names: list[str], known: dict[str, float], ph: KnownPhysics) -> torch.Tensor:
    """(P, K) 0/1: parameter p drifts with offset k; a ConfigError naming a drifting name that is not a parameter
    of ``ph``, is known, or is given twice."""
    for name in names:
        if name not in ph.param_names:
            raise ConfigError(
                f"model.physics.drift names {name!r}, not a parameter of {ph.name!r}: its parameters are "
                f"{ph.param_names}"
            )
        if name in known:
            raise ConfigError(f"model.physics.drift names {name!r}, which model.physics.known holds fixed")
    if len(set(names)) != len(names):
        raise ConfigError(f"model.physics.drift names a parameter twice: {names}")
    m = torch.zeros(len(ph.param_names), len(names))
    position = {n: i for i, n in enumerate(ph.param_names)}
    for k, name in enumerate(names):
        m[position[name], k] = 1.0
    return m


def _known_values(known: dict[str, float], ph: KnownPhysics) -> torch.Tensor:
    """The ``known`` parameters as a (P,) tensor in ``ph.param_names`` order, NaN where unknown; a ConfigError
    naming the key for a parameter the physics does not have or a positive one given < 0 (0 is allowed: an
    undamped system's γ)."""
    unknown = sorted(set(known) - set(ph.param_names))
    if unknown:
        raise ConfigError(
            f"model.physics.known names {unknown[0]!r}, not a parameter of {ph.name!r}: its parameters are "
            f"{ph.param_names}"
        )
    values = []
    for name, is_positive in zip(ph.param_names, ph.positive):
        value = float(known.get(name, float("nan")))
        if is_positive and value < 0:
            raise ConfigError(f"model.physics.known.{name} must be ≥ 0 (a positive parameter), got {value!r}")
        values.append(value)
    return torch.tensor(values, dtype=torch.get_default_dtype())
