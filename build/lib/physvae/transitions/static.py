"""The per-frame baseline: p(z_t) = N(0, I), independent of the past."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Transition


@dataclass
class StaticConfig:
    """No parameters: the prior is fixed."""

    def validate(self, where: str = "static") -> None:
        pass


class Static(Transition):
    """p(z_t | z_<t) = N(0, I): a per-frame VAE, which cannot know velocities (only what one frame shows).

    ``per_frame_inference`` pairs it with q(z_t | x_t), so no neighbouring frame reaches z_t either.
    """

    name, config_class = "static", StaticConfig
    per_frame_inference = True

    def __init__(self, latent_dim: int, input_dim: int = 0, config: StaticConfig | None = None):
        super().__init__(latent_dim, input_dim)

    def step(self, z, state, dt, u):
        return torch.zeros_like(z), torch.ones_like(z), state
