"""A learned recurrent Gaussian prior (SVG-LP): the past enters through a GRU state."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from simulators import integer

from .base import Transition


@dataclass
class GRUPriorConfig:
    """Recurrent prior settings."""

    hidden: int = 64  # GRU state size

    def validate(self, where: str = "gru") -> None:
        integer(f"{where}.hidden", self.hidden, minimum=1)


class GRUPrior(Transition):
    """p(z_t | z_<t) = N(μ(h_t), σ(h_t)²), h_t = GRU([z_{t−1}, u_{t−1}], h_{t−1})."""

    name, config_class = "gru", GRUPriorConfig

    def __init__(self, latent_dim: int, input_dim: int = 0, config: GRUPriorConfig | None = None):
        cfg = config or GRUPriorConfig()
        cfg.validate()
        super().__init__(latent_dim, input_dim)
        self.cell = nn.GRUCell(latent_dim + input_dim, cfg.hidden)
        self.head = nn.Linear(cfg.hidden, 2 * latent_dim)
        self.hidden = cfg.hidden

    def init_state(self, batch, device, dtype=torch.float32):
        return torch.zeros(batch, self.hidden, device=device, dtype=dtype)

    def step(self, z, state, dt, u):
        x = z if u is None or not self.input_dim else torch.cat([z, u], dim=-1)
        h = self.cell(x, state)
        delta, raw = self.head(h).chunk(2, dim=-1)
        return z + delta, nn.functional.softplus(raw) + 1e-3, h
