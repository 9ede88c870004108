"""Process noise: the learned diagonal standard deviation of p(z_t | z_{t−1}) around a transition's mean."""

from __future__ import annotations

import math

import torch
from torch import nn

FLOOR = 1e-3  # smallest standard deviation: keeps the KL finite


class ProcessNoise(nn.Module):
    """σ (D,) = max(exp(log_std), 1e-3), starting at ``init`` in every dimension."""

    def __init__(self, latent_dim: int, init: float = 0.05):
        super().__init__()
        self.log_std = nn.Parameter(torch.full((latent_dim,), math.log(init)))

    def forward(self) -> torch.Tensor:
        """The standard deviation (D,)."""
        return self.log_std.clamp(min=math.log(FLOOR)).exp()
