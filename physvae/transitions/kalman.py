"""The Kalman VAE's linear-Gaussian state space model (Fraccaro et al. 2017): K regimes mixed by an LSTM over the
past per-frame codes a_<t."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from simulators import ConfigError, integer, non_negative, positive

from .. import kalman
from .base import LinearMaps, Transition

ELBOS = ("sample", "exact")


@dataclass
class KalmanConfig:
    """Kalman VAE settings; ``model.latent_dim`` is the size of the state z_t (4 in KVAE)."""

    a_dim: int = 2  # size of the per-frame code a_t that the frame VAE encodes and decodes
    regimes: int = 3  # K linear regimes (A_k, B_k, C_k) mixed by α_t = softmax(LSTM(a_<t))
    lstm_hidden: int = 50  # width of the α-LSTM
    init_scale: float = (
        0.05  # C_k start at init_scale · N(0, 1) (A_k at I, B_k at 0): a stable untrained model
    )
    process_var: float = 0.08  # Q = process_var · I at the start (KVAE: 0.08)
    obs_var: float = 0.03  # R = obs_var · I at the start (KVAE: 0.03)
    init_var: float = 20.0  # Σ_0 = init_var · I, the prior covariance of z_0 (KVAE: 20); μ_0 = 0
    learn_noise: bool = False  # learn Q and R (diagonal); KVAE keeps them fixed
    float64: bool = False  # run filter and smoother in float64 (slower; for long sequences or tiny noises)
    elbo: str = "sample"  # "sample": KVAE's one-sample ELBO from the smoothed posterior; "exact": log p(a)
    recon_scale: float = 1.0  # weight of log p(x | a) in the loss (KVAE: 0.3); the reported ELBO is unscaled
    alpha_warmup: int = 0  # steps with the α network (LSTM, head) held at its start (KVAE: 10 epochs)
    # each regime adds a learned offset b_k, z_t = A_t z_{t−1} + b_t + …: a reflection at a wall
    # (x' = 2w − x − v Δt, v' = −v) is affine, not linear; KVAE has none
    bias: bool = False

    def validate(self, where: str = "kalman") -> None:
        integer(f"{where}.a_dim", self.a_dim, minimum=1)
        integer(f"{where}.regimes", self.regimes, minimum=1)
        integer(f"{where}.lstm_hidden", self.lstm_hidden, minimum=1)
        non_negative(f"{where}.init_scale", self.init_scale)
        for name in ("process_var", "obs_var", "init_var", "recon_scale"):
            positive(f"{where}.{name}", getattr(self, name))
        integer(f"{where}.alpha_warmup", self.alpha_warmup, minimum=0)
        if not isinstance(self.bias, bool):
            raise ConfigError(f"{where}.bias must be true or false, got {self.bias!r}")
        if self.elbo not in ELBOS:
            raise ConfigError(f"{where}.elbo must be one of {ELBOS}, got {self.elbo!r}")


class Drive(NamedTuple):
    """What drives the filter's steps besides A_t z_{t−1}: the matrices B_t (B, T, n, k) it used and the drive
    u (B, T, k) they multiply (the inputs, then a column of ones where the regimes have offsets)."""

    B: torch.Tensor
    u: torch.Tensor


class KalmanState(NamedTuple):
    """The α-LSTM's state (h, c), each (B, H), after the codes before z_{t−1}'s; ``code`` (B, m) is z_{t−1}'s own
    code where it was observed (None: the code of the state's mean, C_{t−1} z_{t−1}, is fed instead)."""

    h: torch.Tensor
    c: torch.Tensor
    code: torch.Tensor | None = None


class Kalman(Transition):
    """p(z_t | z_{t−1}, a_<t) = N(A_t z_{t−1} + B_t u_{t−1}, Q), p(a_t | z_t) = N(C_t z_t, R), z_0 ~ N(0, Σ_0).

    With ``bias`` the drive u carries a last component 1, so the last column of B_k is regime k's offset b_k.
    (A_t, B_t, C_t) = Σ_k α_t^k (A_k, B_k, C_k) with α_t = softmax(W h_t), h_t the LSTM state over
    (0, a_0, …, a_{t−1}). Exact filtering and smoothing of z given the codes a is ``filter`` plus
    ``physvae.kalman.rts_smoother``; ``physvae.kvae.KalmanVAE`` adds the frame VAE around it. As a Transition
    (z-space), a step feeds the code of z_{t−1} to the LSTM and returns the mixed linear mean.
    """

    name, config_class = "kalman", KalmanConfig
    family = "kvae"  # build_model makes a KalmanVAE, not a TemporalVAE

    def __init__(self, latent_dim: int, input_dim: int = 0, config: KalmanConfig | None = None):
        cfg = config or KalmanConfig()
        cfg.validate()
        super().__init__(latent_dim, input_dim)
        self.config = cfg
        k, n, m = cfg.regimes, latent_dim, cfg.a_dim
        self.A = nn.Parameter(torch.eye(n).expand(k, n, n).clone())
        self.B = nn.Parameter(torch.zeros(k, n, max(input_dim + int(cfg.bias), 1)))
        self.C = nn.Parameter(cfg.init_scale * torch.randn(k, m, n))
        self.lstm = nn.LSTMCell(m, cfg.lstm_hidden)
        self.alpha = nn.Linear(cfg.lstm_hidden, k)
        log_q = torch.full((n,), float(torch.tensor(cfg.process_var).log()))
        log_r = torch.full((m,), float(torch.tensor(cfg.obs_var).log()))
        self.log_q = nn.Parameter(log_q, requires_grad=cfg.learn_noise)
        self.log_r = nn.Parameter(log_r, requires_grad=cfg.learn_noise)
        self.register_buffer("mu0", torch.zeros(n))
        self.register_buffer("sigma0", torch.full((n,), cfg.init_var))

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the filter and smoother (float64 with ``float64``)."""
        return torch.float64 if self.config.float64 else self.A.dtype

    def noises(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The diagonals of Q (n,) and R (m,)."""
        return self.log_q.to(dtype).exp(), self.log_r.to(dtype).exp()

    def init_state(self, batch: int, device: torch.device, dtype: torch.dtype = torch.float32) -> KalmanState:
        """The LSTM state after its first input, a zero code: α_0 = weights(init_state)."""
        zero = torch.zeros(batch, self.lstm.hidden_size, device=device, dtype=self.alpha.weight.dtype)
        h, c = self.lstm(torch.zeros(batch, self.config.a_dim, device=device, dtype=zero.dtype), (zero, zero))
        return KalmanState(h, c)

    def feed(self, state: KalmanState, code: torch.Tensor) -> KalmanState:
        """The LSTM state after one more code (B, m)."""
        h, c = self.lstm(code.to(state.h.dtype), (state.h, state.c))
        return KalmanState(h, c)

    def weights(self, state: KalmanState) -> torch.Tensor:
        """α (B, K) of the state, summing to 1."""
        return torch.softmax(self.alpha(state.h), dim=-1)

    def mix(self, alpha: torch.Tensor, dtype: torch.dtype | None = None):
        """(A (B, n, n), C (B, m, n), B (B, n, U)) mixed by α (B, K)."""
        alpha = alpha.to(dtype or alpha.dtype)
        return tuple(torch.einsum("bk,kij->bij", alpha, p.to(alpha.dtype)) for p in (self.A, self.C, self.B))

    def drive(self, u: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        """The drive (..., k) that B_t multiplies: the inputs u (..., U) (zeros where None), then a 1 with ``bias``;
        None where nothing drives (no bias, and no inputs or none given). ``like`` (..., any) gives the leading
        shape, dtype and device."""
        if not self.config.bias and (u is None or not self.input_dim):
            return None
        lead, parts = like.shape[:-1], []
        if self.input_dim:
            parts.append(like.new_zeros(*lead, self.input_dim) if u is None else u.to(like.dtype))
        if self.config.bias:
            parts.append(like.new_ones(*lead, 1))
        return torch.cat(parts, -1)

    def step(self, z, state, dt, u):
        """z_{t−1} (B, D) -> the mean of z_t; the state advances by z_{t−1}'s code (observed, or C_{t−1} z_{t−1})."""
        state = self.init_state(z.shape[0], z.device, z.dtype) if state is None else state
        code = state.code
        if code is None:
            code = torch.einsum("bij,bj->bi", self.mix(self.weights(state))[1], z.to(state.h.dtype))
        state = self.feed(state, code)
        A, _, B = self.mix(self.weights(state), z.dtype)
        mean = torch.einsum("bij,bj->bi", A, z)
        d = self.drive(u, z)
        if d is not None:
            mean = mean + torch.einsum("bij,bj->bi", B, d)
        std = self.noises(z.dtype)[0].sqrt().expand_as(mean)
        return mean, std, state

    def filter(self, a: torch.Tensor, mask=None, u=None):
        """Exact Kalman filter of the codes a (B, T, m) with missing steps (mask 0), in ``dtype``.

        α_t comes from the codes before t, a missing one replaced by its predicted mean.

        Returns:
            the ``kalman.FilterResult``, the state from which ``step`` continues after the last frame, and the
            ``Drive`` used (None where nothing drives: no inputs and no bias).
        """
        bs, dtype = a.shape[0], self.dtype
        a = a.to(dtype)
        state = self.init_state(bs, a.device)
        states, inputs = [], []
        uu = self.drive(u, a)
        use_u = uu is not None

        def matrices(t, previous):
            nonlocal state
            if previous is not None:
                state = self.feed(state, previous)
            states.append(state)
            A, C, B = self.mix(self.weights(state), dtype)
            inputs.append(B)
            return A, C, (B if use_u else None)

        q, r = self.noises(dtype)
        mu0, sigma0 = self.mu0.to(dtype), self.sigma0.to(dtype)
        result = kalman.kalman_filter_online(a, matrices, q, r, mu0, sigma0, mask, uu)
        last = KalmanState(states[-1].h, states[-1].c, result.codes[:, -1])
        return result, last, Drive(torch.stack(inputs, 1), uu) if use_u else None

    def linear_maps(self, z: torch.Tensor) -> LinearMaps:
        """The maps A_k and the α of one step from the initial state at latents z (N, D) (what ``step`` uses
        there, so the at-rest Jacobian and these maps agree)."""
        state = self.init_state(z.shape[0], z.device, z.dtype)
        code = torch.einsum("bij,bj->bi", self.mix(self.weights(state))[1], z)
        alpha = self.weights(self.feed(state, code))
        return LinearMaps(torch.einsum("bk,kij->ij", alpha, self.A) / len(z), self.A, alpha.mean(0))
