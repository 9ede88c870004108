"""The attention inference network: a small transformer encoder over encoded frames, beside the GRU.

Same interface as ``InferenceRNN``: e_1:T (B, T, F), mask (B, T) -> evidence N(μ_t, σ_t²) about z_t, (B, T, D)
each. Which frames a query may attend to:
    filter — frames ≤ t (causal);
    smoother — every frame, through two groups of heads: half look back (frames ≤ t), half look ahead (frames ≥ t),
        as a bidirectional GRU's two directions do, so the network knows which way time runs.
Positions enter only as ALiBi biases (Press et al. 2022): head h subtracts slope_h · |t − s| from the score of
frame s at query t, the slopes spread from near-sighted to far-sighted heads (``alibi_slopes``). A relative bias needs no table of positions, so sequences longer than those trained on are
read the same way. Hidden frames (mask 0) are never keys; a learned "nothing seen" key that every query may
attend to keeps a query with no visible frame (a hidden first frame under the filter) well defined.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def alibi_slopes(n: int) -> torch.Tensor:
    """n slopes (per frame of distance, in units of the attention score), geometric from 1 (a head that reads
    the nearest frames) down to 1/256 (one that reaches across hundreds of frames); one head: 1/16."""
    if n == 1:
        return torch.tensor([1 / 16])
    return 2.0 ** (-8.0 * torch.arange(n, dtype=torch.float32) / (n - 1))


class AttentionBlock(nn.Module):
    """Pre-norm transformer block: x + Attn(LN x), then x + MLP(LN x); ``bias`` (B, H, T, S) is added to the
    scores (−inf where a key is not allowed)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, keys: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (B, T, W) the frames; keys (B, S, W): the "nothing seen" key, then x (S = T + 1)."""
        b, t, w = x.shape
        qkv = self.qkv(self.norm1(keys))  # (B, S, 3W); the queries are the frames, keys[:, 1:] = x
        q, k, v = (
            a.reshape(b, -1, self.heads, w // self.heads).transpose(1, 2) for a in qkv.chunk(3, dim=-1)
        )
        q = q[:, :, 1:]  # (B, H, T, W/H)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, w))
        return x + self.mlp(self.norm2(x))


class InferenceAttention(nn.Module):
    """e_1:T (B, T, F), mask (B, T) -> evidence N(μ_t, σ_t²) about z_t, (B, T, D) each; see the module docstring.

    Args:
        features: F, per-frame feature size.
        width: W, the transformer's width (divisible by ``heads``).
        latent_dim: D.
        heads: attention heads per layer (even for the smoother: half look back, half ahead).
        layers: transformer blocks.
        smoother: attend to the whole sequence (True) or to frames ≤ t only (False).
    """

    def __init__(self, features: int, width: int, latent_dim: int, heads: int, layers: int, smoother: bool):
        super().__init__()
        self.smoother = smoother
        self.embed = nn.Linear(features + 1, width)
        self.nothing = nn.Parameter(torch.zeros(width))  # the key a query with no visible frame attends to
        self.blocks = nn.ModuleList(AttentionBlock(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 2 * latent_dim)
        group = heads // 2 if smoother else heads
        slopes = alibi_slopes(group).repeat(heads // group)
        ahead = torch.arange(heads) >= group if smoother else torch.zeros(heads, dtype=torch.bool)
        self.register_buffer("slopes", slopes, persistent=False)
        self.register_buffer("ahead", ahead, persistent=False)

    def bias(self, mask: torch.Tensor) -> torch.Tensor:
        """mask (B, T) -> additive score bias (B, H, T, T + 1): −slope·|t − s| for allowed frames s, −inf for
        hidden frames and the wrong side of t, 0 for the "nothing seen" key (column 0)."""
        t_len = mask.shape[1]
        pos = torch.arange(t_len, device=mask.device)
        lag = pos[:, None] - pos[None, :]  # (T, T): t − s
        back = (lag >= 0)[None] & ~self.ahead[:, None, None]  # (H, T, T)
        fore = (lag <= 0)[None] & self.ahead[:, None, None]
        allowed = (back | fore)[None] & (mask[:, None, None, :] > 0)  # (B, H, T, T)
        dist = -self.slopes[:, None, None] * lag.abs()  # (H, T, T)
        frames = torch.where(allowed, dist[None], torch.tensor(float("-inf"), device=mask.device))
        return torch.cat([torch.zeros_like(frames[..., :1]), frames], dim=-1)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = (mask > 0).unsqueeze(-1)
        x = self.embed(torch.cat([torch.where(m, feats, 0.0), m.to(feats.dtype)], dim=-1))  # (B, T, W)
        bias = self.bias(mask)
        for block in self.blocks:
            keys = torch.cat([self.nothing.expand(x.shape[0], 1, -1), x], dim=1)  # (B, T + 1, W)
            x = block(x, keys, bias)
        mean, raw = self.head(self.norm(x)).chunk(2, dim=-1)
        return mean, F.softplus(raw) + 1e-3
