"""Locally linear transition (Kalman VAE, DVBF-LL): a state-dependent mixture of K linear maps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from simulators import integer, non_negative, positive

from .base import LinearMaps, Transition
from .noise import ProcessNoise


@dataclass
class LocallyLinearConfig:
    """Locally linear transition settings."""

    regimes: int = 16  # K linear maps mixed by α(z)
    hidden: int = 64  # width of the network computing α(z)
    init_scale: float = 0.01  # A_k start at I + init_scale · N(0, 1): an untrained model is stable
    init_noise: float = 0.05  # initial process-noise std
    max_norm: float = 0.0  # > 0: each A_k scaled to spectral norm ≤ max_norm (so is every mixture A(z))
    substeps: int = 1  # the mixture applied this many times per frame interval, α(z) re-weighted at each

    def validate(self, where: str = "locally_linear") -> None:
        integer(f"{where}.regimes", self.regimes, minimum=1)
        integer(f"{where}.hidden", self.hidden, minimum=1)
        non_negative(f"{where}.init_scale", self.init_scale)
        positive(f"{where}.init_noise", self.init_noise)
        non_negative(f"{where}.max_norm", self.max_norm)
        integer(f"{where}.substeps", self.substeps, minimum=1)


def bound_norm(W: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Matrices W (K, D, D) each scaled by min(1, max_norm / ‖W_k‖₂): spectral norm ≤ max_norm, direction kept."""
    norm = torch.linalg.matrix_norm(W, ord=2)  # (K,) largest singular values
    return W * (max_norm / norm.clamp(min=max_norm))[:, None, None]


class LocallyLinear(Transition):
    """p(z_t | z_{t−1}) = N(A(z_{t−1}) z_{t−1} + B(z_{t−1}) u_{t−1} + c, diag σ²).

    A(z) = Σ_k α_k(z) A_k and B(z) = Σ_k α_k(z) B_k with α = softmax(MLP(z)); σ is learned.
    With ``max_norm`` ρ > 0 each A_k is its raw parameter W_k scaled by min(1, ρ / ‖W_k‖₂). A convex mixture of
    maps of norm ≤ ρ has norm ≤ ρ, so ‖A(z) z‖ ≤ ρ ‖z‖ for every z and a mean rollout cannot blow up
    (ρ ≤ 1: the linear part never expands; a damped system needs no more).
    With ``substeps`` n > 1 one frame interval is n such maps in turn (the input and offset added at each): a
    locally linear step n times shorter, for frames far apart (a pendulum swinging 0.6 rad between frames).
    """

    name, config_class = "locally_linear", LocallyLinearConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: LocallyLinearConfig | None = None):
        cfg = config or LocallyLinearConfig()
        cfg.validate()
        super().__init__(latent_dim, input_dim)
        self.process_noise = ProcessNoise(latent_dim, cfg.init_noise)
        k, d = cfg.regimes, latent_dim
        self.A = nn.Parameter(torch.eye(d).expand(k, d, d) + cfg.init_scale * torch.randn(k, d, d))
        self.B = nn.Parameter(torch.zeros(k, d, max(input_dim, 1)))
        self.c = nn.Parameter(torch.zeros(d))
        self.alpha = nn.Sequential(nn.Linear(d, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, k))
        self.max_norm, self.substeps = cfg.max_norm, cfg.substeps

    def maps(self) -> torch.Tensor:
        """The K linear maps A_k (K, D, D), bounded in spectral norm by ``max_norm`` when that is set."""
        return self.A if self.max_norm <= 0 else bound_norm(self.A, self.max_norm)

    def init_state(
        self, batch: int, device: torch.device, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """The maps (K, D, D), bounded once per pass (an SVD per map) rather than at every step; the transition
        stays Markov, the state never changes."""
        return self.maps()

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        """Regime weights α(z) (B, K), summing to 1."""
        return torch.softmax(self.alpha(z), dim=-1)

    def matrices(self, z: torch.Tensor) -> torch.Tensor:
        """A(z) (B, D, D)."""
        return torch.einsum("bk,kij->bij", self.weights(z), self.maps())

    def step(self, z, state, dt, u):
        """One frame interval (``substeps`` maps); ``state`` holds the maps from ``init_state`` (None: compute
        them here)."""
        maps = self.maps() if state is None else state
        mean = z
        for _ in range(self.substeps):
            mean = self._substep(mean, maps, u)
        return mean, self.process_noise().expand_as(mean), state

    def _substep(self, z: torch.Tensor, maps: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """A(z) z + B(z) u + c for latents z (B, D) and inputs u (B, U) or None."""
        alpha = self.weights(z)
        mean = torch.einsum("bk,kij,bj->bi", alpha, maps, z) + self.c
        if u is not None and self.input_dim:
            mean = mean + torch.einsum("bk,kij,bj->bi", alpha, self.B, u)
        return mean

    def linear_maps(self, z: torch.Tensor) -> LinearMaps:
        """Over latents z (N, D): the mean mixture A(z) and the K maps, each raised to the power ``substeps`` (a
        frame interval's map where the weights hold still over it), and their mean weights α."""
        n = self.substeps
        mean_map = torch.linalg.matrix_power(self.matrices(z).mean(0), n)
        return LinearMaps(mean_map, torch.linalg.matrix_power(self.maps(), n), self.weights(z).mean(0))
