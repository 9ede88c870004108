"""Emission models p(x_t | z_t) over pixels in [0, 1]."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .gaussian import log_prob


class Bernoulli(nn.Module):
    """p(x | z) = Π Bernoulli(x; sigmoid(logits)); for binarized frames."""

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Per-frame log-likelihood: x, out (..., C, H, W) -> (...)."""
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(-3).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class Gaussian(nn.Module):
    """p(x | z) = Π N(x; sigmoid(out), σ²) with σ fixed (``std`` > 0) or a learned scalar (``std`` = 0)."""

    def __init__(self, std: float = 0.0):
        super().__init__()
        self.learned = std <= 0
        init = math.log(0.1) if self.learned else math.log(std)
        self.log_std = nn.Parameter(torch.tensor(init), requires_grad=self.learned)

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        std = self.log_std.clamp(min=math.log(1e-3)).exp()
        return log_prob(x, torch.sigmoid(out), std.expand_as(out)).flatten(-3).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)
