"""The interface every latent transition p(z_t | z_{t−1}, u_{t−1}) implements."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class Transition(nn.Module):
    """Parameterizes p(z_t | z_<t, u_<t) as a diagonal Gaussian, one step at a time.

    Subclasses implement ``step``; recurrent ones also ``init_state``. Tensors are batch-major: z (B, D),
    u (B, U), rollouts (B, T, D).
    """

    def __init__(self, latent_dim: int, input_dim: int = 0, init_noise: float = 0.05):
        super().__init__()
        self.latent_dim, self.input_dim = latent_dim, input_dim
        self.log_noise = nn.Parameter(torch.full((latent_dim,), math.log(init_noise)))

    def noise(self) -> torch.Tensor:
        """Process-noise standard deviation (D,), at least 1e-3."""
        return self.log_noise.clamp(min=math.log(1e-3)).exp()

    def init_state(self, batch: int, device: torch.device, dtype: torch.dtype = torch.float32) -> Any:
        """What one pass (an inference sweep or a rollout) carries from step to step: a recurrent transition's
        hidden state, or something a Markov one computes once per pass instead of at every step (default None)."""
        return None

    def step(self, z: torch.Tensor, state: Any, dt: float, u: torch.Tensor | None):
        """One step: z_{t−1} (B, D), state, Δt, u_{t−1} (B, U) or None -> (mean (B, D), std (B, D), state)."""
        raise NotImplementedError

    def rollout(
        self, z0: torch.Tensor, n_steps: int, dt: float, u: torch.Tensor | None = None, state: Any = None
    ):
        """Mean trajectory after z0: z0 (B, D), u (B, n_steps, U) or None -> (B, n_steps, D).

        Each step feeds the previous mean back (no sampling): the model's deterministic prediction.
        """
        state = self.init_state(z0.shape[0], z0.device, z0.dtype) if state is None else state
        z, out = z0, []
        for t in range(n_steps):
            z, _, state = self.step(z, state, dt, None if u is None else u[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    @property
    def nfe(self) -> int:
        """Vector-field evaluations since the last ``reset_nfe`` (0 for discrete transitions)."""
        return 0

    def reset_nfe(self) -> None:
        pass
