"""Diagonal Gaussians: reparameterized samples, the KL divergence, and precision-weighted fusion."""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def sample(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """z = mean + std ⊙ ε, ε ~ N(0, I) (reparameterized)."""
    return mean + std * torch.randn_like(std)


def kl(mq: torch.Tensor, sq: torch.Tensor, mp: torch.Tensor, sp: torch.Tensor) -> torch.Tensor:
    """KL(N(mq, sq²) ‖ N(mp, sp²)) per dimension, same shape as the inputs."""
    var_ratio = (sq / sp) ** 2
    return 0.5 * (var_ratio + ((mq - mp) / sp) ** 2 - 1.0 - torch.log(var_ratio))


def log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, std²) per element."""
    return -0.5 * (((x - mean) / std) ** 2 + 2 * torch.log(std) + LOG_2PI)


def fuse(m1: torch.Tensor, s1: torch.Tensor, m2: torch.Tensor, s2: torch.Tensor):
    """Product of two Gaussians, renormalized: precisions add, means are precision-weighted (a Kalman update)."""
    p1, p2 = s1.pow(-2), s2.pow(-2)
    var = 1.0 / (p1 + p2)
    return var * (m1 * p1 + m2 * p2), var.sqrt()


def standardized_sq_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean over every element of (x − target)² / var(target_d): x and target (..., D), each last dimension
    d in units of the target's variance over all the leading axes (that variance not differentiated; floored at
    1e-8). 0 where x is the target; 1 per dimension where x is one target standard deviation off throughout."""
    scale = target.detach().reshape(-1, target.shape[-1]).var(dim=0).clamp(min=1e-8)
    return ((x - target).pow(2) / scale).mean()
