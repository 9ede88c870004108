"""The static content latent of a disentangled sequential VAE: one z_c per sequence, beside the dynamic z_t.

Generative model (with ``model.content_dim`` K > 0):
    p(z_c) = N(0, I_K), constant in time; p(x_t | z_t, z_c) = the decoder reading [z_t, z_c].
Inference:
    q(z_c | x) = N(μ_c, σ_c²) from the masked mean of the per-frame encoder features over the observed frames,
    through a small MLP: what a sequence *is* (colour, size) is read from all its frames at once; how it *moves*
    stays in z_t and its transition.
ELBO:
    KL(q(z_c | x) ‖ N(0, I)) is counted once per sequence. The model's per-frame ELBO divides every term by T, so
    this KL enters it as KL_c / T: spread evenly over the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import gaussian


@dataclass
class Content:
    """q(z_c | x) of a batch: the sample (or mean) z (B, K) the decoder reads, and its mean and std (B, K)."""

    z: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def kl(self) -> torch.Tensor:
        """KL(q(z_c | x) ‖ N(0, I)) per sequence and dimension, (B, K)."""
        return gaussian.kl(self.mean, self.std, torch.zeros_like(self.mean), torch.ones_like(self.std))


class ContentEncoder(nn.Module):
    """q(z_c | x): features e_1:T (B, T, F), mask (B, T) -> N(μ_c, σ_c²), (B, K) each.

    The features of the observed frames are averaged (a hidden frame does not count; a sequence with no observed
    frame gets the mean of nothing, zeros), then an MLP gives the mean and, through softplus, the std.
    """

    def __init__(self, features: int, hidden: int, content_dim: int):
        super().__init__()
        self.dim = content_dim
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.SiLU(), nn.Linear(hidden, 2 * content_dim))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor, sample: bool = True) -> Content:
        m = mask.unsqueeze(-1).to(feats.dtype)  # (B, T, 1)
        pooled = (feats * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, T, F) -> (B, F)
        mean, raw = self.net(pooled).chunk(2, dim=-1)
        std = nn.functional.softplus(raw) + 1e-3
        return Content(gaussian.sample(mean, std) if sample else mean, mean, std)


def with_content(z: torch.Tensor, content: torch.Tensor | None, dim: int) -> torch.Tensor:
    """The decoder's input [z_t, z_c]: z (B, T, D) and z_c (B, K) held constant over T -> (B, T, D + K).

    Without a z_c (``content`` None: a latent made by hand, a traversal) the prior mean 0 is used.
    """
    if content is None:
        content = z.new_zeros(z.shape[0], dim)
    return torch.cat([z, content[:, None].expand(-1, z.shape[1], -1)], dim=-1)
