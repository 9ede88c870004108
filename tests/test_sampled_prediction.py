"""The predictive mean over sampled trajectories (``physvae.sampled_prediction``) against exact answers."""

from types import SimpleNamespace

import pytest
import torch

import physvae
from physvae import ModelConfig, build_model
from physvae.evaluation import EvalConfig, prediction
from physvae.model import DataSpec
from physvae.sampled_prediction import predictive_mean, sample_trajectories
from physvae.transitions import TRANSITIONS
from physvae.transitions.base import Transition
from simulators import ConfigError

SPEC = DataSpec(size=16, channels=1, input_dim=1, dt=0.1, binarized=False, state_names=["x"])
TEMPORAL = sorted(n for n, t in TRANSITIONS.items() if t.family == "temporal")


def _rollouts(model, *args, **kwargs):
    """The predictive mean frames and the sampled latents (B, S, horizon, D)."""
    draws = sample_trajectories(model, *args, **kwargs)
    return predictive_mean(model, draws), draws.future


def _tiny(transition: str) -> ModelConfig:
    cfg = ModelConfig(transition=transition, latent_dim=2, channels=2, features=4, rnn_hidden=3)
    cfg.locally_linear.regimes, cfg.locally_linear.hidden = 2, 3
    cfg.neural_ode.hidden, cfg.gru.hidden, cfg.hamiltonian.hidden = 3, 3, 3
    cfg.physics.hidden, cfg.physics.match_states = 3, False
    if transition == "physics":  # (cos θ, sin θ, θ̇) and one extra dimension
        cfg.latent_dim = 4
    return cfg


@pytest.mark.parametrize("name", TEMPORAL)
def test_without_noise_every_sample_is_the_mean_rollout(name):
    """noise_scale 0: each sample, and so their mean, is exactly what ``predict`` draws (same latents too)."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny(name)).eval()
    frames, inputs = torch.rand(3, 9, 1, 16, 16), torch.randn(3, 9, 1)
    with torch.no_grad():
        want, z = model.predict(frames, 4, 5, inputs)
        got, latents = _rollouts(model, frames, 4, 5, 3, inputs, noise_scale=0.0)
    assert latents.shape == (3, 3, 5, z.shape[-1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    for s in range(3):
        torch.testing.assert_close(latents[:, s], z[:, 4:], rtol=1e-5, atol=1e-6)


class Scale(Transition):
    """z_t = a z_{t−1} + s ε: the exact distribution of the sampled latents is known."""

    name = "test_scale"

    def __init__(self, latent_dim: int, a: float, s: float):
        super().__init__(latent_dim)
        self.a, self.s = a, s

    def step(self, z, state, dt, u):
        return self.a * z, torch.full_like(z, self.s), state


def test_sampled_latents_follow_the_exact_distribution_and_frames_are_their_average():
    """Start N(m, σ²) from the posterior at the last context frame, then z_h = a z_{h−1} + s ε: the mean is
    aʰ m, the variance a^{2h} σ² + s² Σ_{k<h} a^{2k}; the frames returned are the decoded samples' average."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("locally_linear")).eval()
    a, s, n, h = 0.8, 0.3, 4000, 4
    model.transition = Scale(2, a, s)
    frames = torch.rand(2, 6, 1, 16, 16)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        post = model.infer(frames[:, :3], None, None, sample=False)
        mean_frames, z = _rollouts(model, frames, 3, h, n, generator=g)
        m, var = post.q_mean[:, -1], post.q_std[:, -1] ** 2
        for k in range(1, h + 1):
            want_var = a ** (2 * k) * var + s**2 * sum(a ** (2 * j) for j in range(k))
            got = z[:, :, k - 1]  # (B, n, D)
            se = (want_var / n).sqrt()
            assert ((got.mean(1) - a**k * m).abs() < 4 * se).all()
            assert ((got.var(1) / want_var - 1).abs() < 4 * (2 / n) ** 0.5).all()
        decoded = [model.likelihood.mean(model.decode(torch.cat([post.z, z[:, i]], 1))) for i in range(n)]
    torch.testing.assert_close(mean_frames, torch.stack(decoded).mean(0), rtol=1e-4, atol=1e-5)


def test_the_same_seed_draws_the_same_prediction_and_another_seed_another():
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("neural_ode")).eval()
    frames = torch.rand(2, 8, 1, 16, 16)
    inputs = torch.randn(2, 8, 1)

    def draw(seed):
        with torch.no_grad():
            g = torch.Generator().manual_seed(seed)
            return _rollouts(model, frames, 3, 5, 4, inputs, generator=g)[0]

    torch.testing.assert_close(draw(1), draw(1), rtol=0, atol=0)
    assert not torch.equal(draw(1), draw(2))


class Still(Scale):
    """A continuous-time transition that does not move: dz/dt = 0, process noise s per Δt of the data."""

    name = "test_still"

    def vector_field(self, z):
        return torch.zeros_like(z)


def test_uneven_times_scale_the_noise_with_each_interval():
    """A diffusion's variance grows with the interval: one step of Δt' adds s² Δt'/Δt to the variance."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("neural_ode")).eval()
    s, n = 0.3, 8000
    model.transition = Still(2, 1.0, s)
    frames = torch.rand(1, 6, 1, 16, 16)
    for step in (0.1, 0.25):
        times = torch.arange(6, dtype=torch.float64)[None] * step
        with torch.no_grad():
            g = torch.Generator().manual_seed(0)
            z = _rollouts(model, frames, 3, 1, n, times=times, generator=g)[1][0, :, 0]  # (n, D)
            post = model.infer(frames[:, :3], None, None, sample=False, times=times[:, :3])
        want = post.q_std[0, -1] ** 2 + s**2 * step / SPEC.dt
        assert ((z.var(0) / want - 1).abs() < 4 * (2 / n) ** 0.5).all()
        assert ((z.mean(0) - post.q_mean[0, -1]).abs() < 4 * (want / n).sqrt()).all()


def test_bad_requests_name_what_was_wrong():
    model = build_model(SPEC, _tiny("locally_linear")).eval()
    frames = torch.rand(1, 6, 1, 16, 16)
    with pytest.raises(ConfigError, match="n_samples must be an integer ≥ 1, got 0"):
        _rollouts(model, frames, 3, 2, 0)
    with pytest.raises(ConfigError, match="noise_scale must be ≥ 0"):
        _rollouts(model, frames, 3, 2, 2, noise_scale=-1.0)
    kvae = build_model(SPEC, ModelConfig(transition="kalman", latent_dim=2, channels=2, features=4))
    with pytest.raises(ConfigError, match="KalmanVAE predicts in closed form only"):
        _rollouts(kvae, frames, 3, 2, 2)
    ctx = SimpleNamespace(model=kvae, cfg=EvalConfig(prediction_samples=4))  # evaluation says so, goes on
    assert "closed form only" in prediction._sampled(ctx)["skipped"]
    with pytest.raises(ConfigError, match="eval.prediction_samples"):
        EvalConfig(prediction_samples=-1).validate()
    assert "predictive mean over 8 samples" in EvalConfig(prediction_samples=8).describe()
    assert physvae.EvalConfig().prediction_samples == 0  # off unless asked: records reproduce
