"""Two time scales (clockwork-VAE style): a slow latent s_t that changes rarely above a fast one f_t it steers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from simulators import ConfigError, integer, non_negative, positive

from .base import LinearMaps, Transition
from .locally_linear import bound_norm
from .noise import ProcessNoise

SLOW_MODES = ("clock", "step")


@dataclass
class HierarchicalConfig:
    """Two-time-scale transition settings."""

    slow_dim: int = 1  # S: the first S latent dimensions are the slow s_t; the other D − S the fast f_t
    slow_mode: str = "clock"  # "clock": s moved only every `period` frames; "step": by ε·φ(s) each frame
    period: int = 5  # k ("clock"): s may move only into frames t ≡ 0 (mod k), the first frame being 0
    slow_hidden: int = 32  # width of the network φ(s) that moves s
    slow_step: float = 0.05  # "step" mode: initial size ε of the learned step s + ε · φ(s)
    hold_noise: float = 0.005  # initial std of s where it is held ("clock") or at every step ("step")
    regimes: int = 16  # K linear maps of the fast dynamics, mixed by α(f, s)
    hidden: int = 64  # width of the network computing α(f, s)
    init_scale: float = 0.01  # fast maps A_k start at I + init_scale · N(0, 1): an untrained model is stable
    init_noise: float = 0.05  # initial std of f, and of s at a clock update
    max_norm: float = 0.0  # > 0: each A_k scaled to spectral norm ≤ max_norm

    def validate(self, where: str = "hierarchical") -> None:
        integer(f"{where}.slow_dim", self.slow_dim, minimum=1)
        if self.slow_mode not in SLOW_MODES:
            raise ConfigError(f"{where}.slow_mode must be one of {SLOW_MODES}, got {self.slow_mode!r}")
        integer(f"{where}.period", self.period, minimum=1)
        integer(f"{where}.slow_hidden", self.slow_hidden, minimum=1)
        positive(f"{where}.slow_step", self.slow_step)
        positive(f"{where}.hold_noise", self.hold_noise)
        integer(f"{where}.regimes", self.regimes, minimum=1)
        integer(f"{where}.hidden", self.hidden, minimum=1)
        non_negative(f"{where}.init_scale", self.init_scale)
        positive(f"{where}.init_noise", self.init_noise)
        non_negative(f"{where}.max_norm", self.max_norm)

    def check_latent(self, latent_dim: int, where: str = "hierarchical") -> None:
        if self.slow_dim >= latent_dim:
            raise ConfigError(
                f"{where}.slow_dim must be less than model.latent_dim ({latent_dim}) so that a fast latent "
                f"remains, got {self.slow_dim}"
            )


class ClockState(NamedTuple):
    """What a pass carries: the index of the frame the next step starts from (the first frame is 0) and the
    fast maps A_k (K, F, F), bounded once per pass."""

    frame: int
    maps: torch.Tensor


class Hierarchical(Transition):
    """Parameterizes p(z_t | z_{t−1}, u_{t−1}) for z_t = [s_t, f_t]: a slow latent held or moved rarely, a fast
    one steered by it.

    The latent z_t = [s_t, f_t] (the first ``slow_dim`` dimensions are s_t (S), the other D − S are f_t (F)), and

        p(z_t | z_{t−1}, u_{t−1}) = N(s_t; m_s, diag σ_s²) · N(f_t; m_f, diag σ_f²),
        m_s = m_s(s_{t−1}, t),  σ_s = σ_s(t),  m_f = m_f(f_{t−1}, m_s, u_{t−1}).

    The slow part, in one of two modes:
        "clock" (period k):  m_s = s_{t−1} + φ(s_{t−1}) and σ_s = σ_jump  if t ≡ 0 (mod k),
                             m_s = s_{t−1}              and σ_s = σ_hold  otherwise;
        "step":              m_s = s_{t−1} + ε · φ(s_{t−1}) and σ_s = σ_hold at every frame,
    with φ a small MLP whose last layer starts at zero (an untrained s is held), ε > 0 a learned step (starting at
    ``slow_step``), σ_hold small. Frames are counted from the first one the model sees (t = 0), so after a context
    of c frames a rollout keeps the phase of the clock. Between updates the prior mean of s is exactly s_{t−1}.

    The fast part is the locally linear mixture of ``LocallyLinear`` over f, steered by the slow prior mean m_s
    (top-down, as the upper level of a clockwork VAE conditions the lower one; using m_s rather than a sample of s_t
    keeps p(z_t | z_{t−1}) one diagonal Gaussian):
        m_f = Σ_k α_k(f_{t−1}, m_s) (A_k f_{t−1} + C_k m_s + B_k u_{t−1}) + c,   α = softmax(MLP([f_{t−1}, m_s])),
    so s chooses among the K maps (a pendulum's frequency, set by its gravity, can live in s) and shifts f.
    """

    name, config_class = "hierarchical", HierarchicalConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: HierarchicalConfig | None = None):
        cfg = config or HierarchicalConfig()
        cfg.validate()
        cfg.check_latent(latent_dim)
        super().__init__(latent_dim, input_dim)
        self.cfg = cfg
        s, f, k = cfg.slow_dim, latent_dim - cfg.slow_dim, cfg.regimes
        self.slow_dim, self.fast_dim = s, f
        last = nn.Linear(cfg.slow_hidden, s)
        nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)  # φ = 0: an untrained s is held
        self.slow_net = nn.Sequential(nn.Linear(s, cfg.slow_hidden), nn.Tanh(), last)
        self.hold_noise = ProcessNoise(s, cfg.hold_noise)
        if cfg.slow_mode == "clock":
            self.jump_noise = ProcessNoise(s, cfg.init_noise)
        else:
            self.log_step = nn.Parameter(torch.tensor(math.log(cfg.slow_step)))
        self.fast_noise = ProcessNoise(f, cfg.init_noise)
        self.A = nn.Parameter(torch.eye(f).expand(k, f, f) + cfg.init_scale * torch.randn(k, f, f))
        self.C = nn.Parameter(torch.zeros(k, f, s))
        self.B = nn.Parameter(torch.zeros(k, f, max(input_dim, 1)))
        self.c = nn.Parameter(torch.zeros(f))
        self.alpha = nn.Sequential(nn.Linear(f + s, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, k))

    @property
    def slow_dims(self) -> tuple[int, ...]:
        """Indices of s_t in z_t: 0 … S − 1."""
        return tuple(range(self.slow_dim))

    @property
    def fast_dims(self) -> tuple[int, ...]:
        """Indices of f_t in z_t: S … D − 1."""
        return tuple(range(self.slow_dim, self.latent_dim))

    def maps(self) -> torch.Tensor:
        """The K fast maps A_k (K, F, F), bounded in spectral norm by ``max_norm`` when that is set."""
        return self.A if self.cfg.max_norm <= 0 else bound_norm(self.A, self.cfg.max_norm)

    def init_state(self, batch: int, device: torch.device, dtype: torch.dtype = torch.float32) -> ClockState:
        return ClockState(0, self.maps())

    def updates_at(self, frame: int) -> bool:
        """Whether the slow latent may move into frame ``frame`` ("clock" mode: frame ≡ 0 mod period)."""
        return self.cfg.slow_mode == "step" or frame % self.cfg.period == 0

    def slow_prior(self, s: torch.Tensor, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        """s_{t−1} (B, S) and the frame t it moves into -> mean (B, S) and std (S,) of s_t."""
        if self.cfg.slow_mode == "step":
            return s + self.log_step.exp() * self.slow_net(s), self.hold_noise()
        if self.updates_at(frame):
            return s + self.slow_net(s), self.jump_noise()
        return s, self.hold_noise()

    def weights(self, f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Regime weights α(f, s) (B, K), summing to 1, from f (B, F) and s (B, S)."""
        return torch.softmax(self.alpha(torch.cat([f, s], dim=-1)), dim=-1)

    def fast_mean(self, f, s, u, maps) -> torch.Tensor:
        """m_f (B, F) from f_{t−1} (B, F), the slow prior mean s (B, S), u (B, U) or None, maps (K, F, F)."""
        alpha = self.weights(f, s)
        mean = torch.einsum("bk,kij,bj->bi", alpha, maps, f) + torch.einsum("bk,kij,bj->bi", alpha, self.C, s)
        if u is not None and self.input_dim:
            mean = mean + torch.einsum("bk,kij,bj->bi", alpha, self.B, u)
        return mean + self.c

    def step(self, z, state, dt, u):
        """One step from z_{t−1} (B, D); ``state`` (a ``ClockState``, None: the first frame) counts the frames."""
        state = self.init_state(z.shape[0], z.device, z.dtype) if state is None else state
        frame = state.frame + 1
        s, f = z[:, : self.slow_dim], z[:, self.slow_dim :]
        s_mean, s_std = self.slow_prior(s, frame)
        f_mean = self.fast_mean(f, s_mean, u, state.maps)
        std = torch.cat([s_std.expand_as(s_mean), self.fast_noise().expand_as(f_mean)], dim=-1)
        return torch.cat([s_mean, f_mean], dim=-1), std, ClockState(frame, state.maps)

    def linear_maps(self, z: torch.Tensor) -> LinearMaps:
        """The one-step maps of a frame where s is held, around latents z (N, D): z ↦ [[I, 0], [C_k, A_k]] z."""
        s, f = z[:, : self.slow_dim], z[:, self.slow_dim :]
        k = self.cfg.regimes
        top = torch.cat(
            [
                torch.eye(self.slow_dim, device=z.device, dtype=z.dtype).expand(k, -1, -1),
                torch.zeros(k, self.slow_dim, self.fast_dim, device=z.device, dtype=z.dtype),
            ],
            dim=2,
        )
        maps = torch.cat([top, torch.cat([self.C, self.maps()], dim=2)], dim=1)  # (K, D, D)
        alpha = self.weights(f, s)
        return LinearMaps(torch.einsum("nk,kij->ij", alpha, maps) / len(z), maps, alpha.mean(0))
