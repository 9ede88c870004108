"""The inference network: an RNN over encoded frames giving the observation's evidence about z_t."""

from __future__ import annotations

import torch
from torch import nn


class InferenceRNN(nn.Module):
    """e_1:T (B, T, F), mask (B, T) -> evidence N(μ_t, σ_t²) about z_t, (B, T, D) each.

    Filtering runs a GRU forward (x_≤t); smoothing a bidirectional GRU (x_1:T). A hidden frame enters as zeros
    with its mask flag at 0, so the RNN never sees it. The model fuses this evidence with the transition's prior
    (a Kalman-style update), so q(z_t | ·) always goes through the dynamics.
    """

    def __init__(self, features: int, hidden: int, latent_dim: int, smoother: bool):
        super().__init__()
        self.rnn = nn.GRU(features + 1, hidden, batch_first=True, bidirectional=smoother)
        self.head = nn.Linear(hidden * (2 if smoother else 1), 2 * latent_dim)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = mask.unsqueeze(-1).to(feats.dtype)
        h, _ = self.rnn(torch.cat([feats * m, m], dim=-1))
        mean, raw = self.head(h).chunk(2, dim=-1)
        return mean, nn.functional.softplus(raw) + 1e-3


class FrameInference(nn.Module):
    """Per-frame evidence: e_t (B, T, F) -> N(μ_t, σ_t²) from frame t alone (the per-frame VAE's q(z_t | x_t)).

    Used with the Static transition, so that baseline cannot see velocity through neighbouring frames.
    """

    def __init__(self, features: int, hidden: int, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.SiLU(), nn.Linear(hidden, 2 * latent_dim))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = self.net(feats).chunk(2, dim=-1)
        return mean, nn.functional.softplus(raw) + 1e-3
