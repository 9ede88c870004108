"""Emission models p(x_t | z_t) over pixels in [0, 1]."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .gaussian import log_prob


class Bernoulli(nn.Module):
    """p(x | z) = Π Bernoulli(x; sigmoid(logits)); for binarized frames."""

    name = "bernoulli"  # the model.likelihood that builds it

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Per-frame log-likelihood: x, out (..., C, H, W) -> (...)."""
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(-3).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class Gaussian(nn.Module):
    """p(x | z) = Π N(x; sigmoid(out), σ²) with σ fixed (``std`` > 0) or a learned scalar (``std`` = 0)."""

    name = "gaussian"

    def __init__(self, std: float = 0.0):
        super().__init__()
        self.learned = std <= 0
        init = math.log(0.1) if self.learned else math.log(std)
        self.log_std = nn.Parameter(torch.tensor(init), requires_grad=self.learned)

    def std(self) -> torch.Tensor:
        """σ, a scalar: the fixed or learned std, floored at 1e-3."""
        return self.log_std.clamp(min=math.log(1e-3)).exp()

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return log_prob(x, torch.sigmoid(out), self.std().expand_as(out)).flatten(-3).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


GREY_LEVEL = 1.0 / 255.0  # one step of an 8-bit pixel: the frames' resolution


class CensoredGaussian(Gaussian):
    """p(x | z): each pixel is the clean intensity μ = sigmoid(out) plus N(0, σ²) sensor noise, clipped to [0, 1]
    and rounded to 8 bits, as a camera does; σ fixed (``std`` > 0) or a learned scalar (``std`` = 0).

    A pixel read at 0 (within half a grey level) carries the probability of the clipped tail,
    Φ((½/255 − μ) / σ); one read at 1 carries 1 − Φ((1 − ½/255 − μ) / σ); any other the density N(x; μ, σ²).
    Where sensor noise is clipped, the plain Gaussian's best mean on a black background is E[max(0, ε)] = σ / √(2π)
    (0.02 at σ = 0.05), a grey veil over the whole frame; this likelihood's μ stays at the clean intensity, and
    ``mean`` returns μ: the frame before the noise. On noise-free frames it differs from the Gaussian only at
    pixels exactly 0 or 1, where it asks μ to lie past the edge rather than on it.
    """

    name = "censored"

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Per-frame log-likelihood (probability at clipped pixels, density elsewhere): x, out (..., C, H, W) ->
        (...)."""
        std = self.std()
        mu = torch.sigmoid(out)
        half = 0.5 * GREY_LEVEL
        low = torch.special.log_ndtr((half - mu) / std)
        high = torch.special.log_ndtr((mu - 1.0 + half) / std)
        inside = log_prob(x, mu, std.expand_as(out))
        per_pixel = torch.where(x <= half, low, torch.where(x >= 1.0 - half, high, inside))
        return per_pixel.flatten(-3).sum(-1)
