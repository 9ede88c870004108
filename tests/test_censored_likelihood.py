"""The censored Gaussian emission: exact values against scipy, float64 gradients, and the clean intensity recovered
by maximum likelihood from clipped noisy pixels where the plain Gaussian's estimate is biased."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from physvae.build import _likelihood
from physvae.config import ModelConfig
from physvae.likelihoods import GREY_LEVEL, CensoredGaussian, Gaussian
from simulators import ConfigError


def _logits(mu):
    return torch.logit(torch.as_tensor(mu, dtype=torch.float64))


def test_log_prob_matches_scipy_at_clipped_and_inside_pixels():
    torch.set_default_dtype(torch.float64)
    try:
        lik = CensoredGaussian(std=0.05)
    finally:
        torch.set_default_dtype(torch.float32)
    mu = np.array([0.01, 0.3, 0.97, 0.5, 0.02, 0.999])
    x = np.array([0.0, 0.3 + 7 / 255, 1.0, 1.0, 0.5 / 255 * 0.9, 40 / 255])
    half, s = 0.5 / 255, 0.05
    expected = [
        norm.logcdf((half - mu[0]) / s),
        norm.logpdf(x[1], mu[1], s),
        norm.logsf((1 - half - mu[2]) / s),
        norm.logsf((1 - half - mu[3]) / s),
        norm.logcdf((half - mu[4]) / s),  # under half a grey level: read as 0
        norm.logpdf(x[5], mu[5], s),
    ]
    out = _logits(mu).reshape(1, 6, 1, 1)
    got = [float(lik.log_prob(torch.tensor(x[i]).reshape(1, 1, 1, 1), out[:, i : i + 1])) for i in range(6)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    total = float(lik.log_prob(torch.tensor(x).reshape(1, 6, 1, 1), out)[0])
    assert total == pytest.approx(sum(expected), rel=1e-9)


def test_equals_the_gaussian_where_no_pixel_is_clipped():
    x = torch.rand(3, 1, 4, 4) * 0.8 + 0.1
    out = torch.randn(3, 1, 4, 4)
    censored, plain = CensoredGaussian(std=0.1), Gaussian(std=0.1)
    torch.testing.assert_close(censored.log_prob(x, out), plain.log_prob(x, out))
    torch.testing.assert_close(censored.mean(out), torch.sigmoid(out))


def test_gradcheck_float64_through_mean_and_learned_std():
    torch.set_default_dtype(torch.float64)
    try:
        lik = CensoredGaussian(std=0.0)  # learned std
    finally:
        torch.set_default_dtype(torch.float32)
    x = torch.tensor([0.0, 0.0, 0.4, 1.0, 0.7], dtype=torch.float64).reshape(1, 5, 1, 1)
    out = torch.tensor([-3.0, 0.5, 0.1, 2.0, -0.2], dtype=torch.float64).reshape(1, 5, 1, 1)

    assert torch.autograd.gradcheck(lambda o: lik.log_prob(x, o), (out.clone().requires_grad_(),))
    lik.log_std.data = torch.tensor(math.log(0.07), dtype=torch.float64)
    lik.zero_grad()
    lik.log_prob(x, out).sum().backward()
    analytic = float(lik.log_std.grad)
    eps = 1e-6
    values = []
    for sign in (1, -1):
        with torch.no_grad():
            lik.log_std.fill_(math.log(0.07) + sign * eps)
            values.append(float(lik.log_prob(x, out).sum()))
    assert analytic == pytest.approx((values[0] - values[1]) / (2 * eps), rel=1e-6)


def test_maximum_likelihood_recovers_the_clean_intensity_of_clipped_noise():
    """Pixels of clean intensity 0.01 under N(0, 0.05²) noise, clipped and rounded to 8 bits: their mean is
    ≈ 0.026 (the plain Gaussian's fit); the censored fit finds 0.01 and the noise's std."""
    rng = np.random.default_rng(0)
    clean, sigma = 0.01, 0.05
    pixels = np.round(np.clip(clean + sigma * rng.standard_normal(20000), 0, 1) * 255) / 255
    x = torch.tensor(pixels, dtype=torch.float32).reshape(-1, 1, 1, 1)
    fits = {}
    for name, lik in (("censored", CensoredGaussian()), ("gaussian", Gaussian())):
        out = torch.zeros(1, 1, 1, 1, requires_grad=True)
        opt = torch.optim.Adam([out, lik.log_std], lr=0.05)
        for _ in range(1500):
            opt.zero_grad()
            (-lik.log_prob(x, out.expand_as(x)).mean()).backward()
            opt.step()
        fits[name] = (float(torch.sigmoid(out.detach())), float(lik.log_std.detach().exp()))
    assert fits["gaussian"][0] == pytest.approx(pixels.mean(), abs=2e-3)
    assert fits["gaussian"][0] > 0.024
    assert fits["censored"][0] == pytest.approx(clean, abs=2e-3)
    assert fits["censored"][1] == pytest.approx(sigma, rel=0.05)


def test_built_from_the_config_and_named_in_its_error():
    class Spec:
        binarized = False

    cfg = ModelConfig(likelihood="censored", obs_std=0.05)
    lik = _likelihood(Spec(), cfg)
    assert isinstance(lik, CensoredGaussian) and not lik.learned
    assert GREY_LEVEL == pytest.approx(1 / 255)
    with pytest.raises(ConfigError, match="model.likelihood must be one of .*censored"):
        ModelConfig(likelihood="clipped").validate()
