"""The baseline beside the learned dynamics: a least-squares linear map of the posterior latents near rest reads
an exact oscillator's frequency and damping, controls included, and the dynamics section shows it beside the
transition's figures."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from physvae.evaluation.dynamics import Dynamics, describe
from physvae.evaluation.posterior_map import posterior_map
from physvae.metrics.dynamics import oscillation
from physvae.metrics.probe import probe_targets

from .problems import damped_oscillator_map
from .test_rest_point import _affine, _Known


def _oscillator(n=30, t=40, dt=0.1, control=0.0, seed=0):
    """Latents (n, t, 4) of an exact damped oscillator (ω₀ 3, γ 0.4) in a random basis beside a slow decaying
    coordinate pair, with controls pushing the velocity (``control`` times a random u), the true (x, v), energy."""
    rng = np.random.default_rng(seed)
    osc = damped_oscillator_map(3.0, 0.4, dt)
    slow = np.diag([0.9, 0.8])
    u = rng.normal(size=(n, t, 1))
    x = np.zeros((n, t, 4))
    x[:, 0] = rng.normal(size=(n, 4))
    for k in range(1, t):
        x[:, k, :2] = x[:, k - 1, :2] @ osc.T + control * u[:, k - 1] * np.array([0.0, dt])
        x[:, k, 2:] = x[:, k - 1, 2:] @ slow.T
    P = rng.normal(size=(4, 4))
    z = x @ P.T + np.array([1.0, -2.0, 0.5, 3.0])  # an offset: the map has a constant term
    energy = 0.5 * (x[..., 1] ** 2 + 9 * x[..., 0] ** 2)
    return z, x[..., :2], energy, u, dt


@pytest.mark.parametrize("control", [0.0, 1.0])
def test_the_posterior_map_reads_an_exact_oscillator_near_rest(control):
    z, _, energy, u, dt = _oscillator(control=control)
    A = posterior_map(z, energy, u if control else None)
    osc = oscillation(A, dt)
    assert osc["natural_frequency"] == pytest.approx(3.0, rel=1e-6)
    assert osc["damping"] == pytest.approx(0.4, rel=1e-6)
    if control:  # without the controls among the regressors the pushes bias the fit
        biased = oscillation(posterior_map(z, energy, None), dt)
        assert abs(biased["damping"] - 0.4) > 1e-3


def test_too_few_pairs_give_no_map():
    z, _, energy, _, _ = _oscillator(n=2, t=10)  # 18 pairs, a fifth of them: 3
    assert posterior_map(z, energy) is None


def test_the_dynamics_section_shows_the_posterior_map_beside_the_transitions_figures():
    z, state, energy, _, dt = _oscillator()
    states = np.concatenate([state, energy[..., None]], -1)
    names, kinds = ["x", "v", "e"], ["coordinate", "velocity", "energy"]
    test = SimpleNamespace(
        dt=dt,
        state_names=names,
        state_kinds=kinds,
        inputs=None,
        reference=np.array([[3.0, 0.4]]),
        reference_names=["natural_frequency", "damping"],
    )
    wrong = damped_oscillator_map(2.0, -0.5, dt)  # a transition that learned another, growing, oscillation
    A = np.eye(4)
    A[:2, :2] = wrong
    ctx = SimpleNamespace(
        test=test,
        test_latents=SimpleNamespace(z=z, states=states),
        targets=lambda s: probe_targets(s, names, kinds),
        model=SimpleNamespace(transition=_Known(_affine(0.999 * A, z.mean((0, 1))))),
        device=torch.device("cpu"),
    )
    out = Dynamics().run(ctx)
    rec = out["recovered"]
    assert rec["natural_frequency"]["posterior_map"] == pytest.approx(3.0, rel=1e-6)
    assert rec["damping"]["posterior_map"] == pytest.approx(0.4, rel=1e-6)
    assert rec["damping"]["learned"] < 0  # the transition's own figure stays beside it
    # the same reading of the true (x, v): the ceiling
    assert rec["natural_frequency"]["state_map"] == pytest.approx(3.0, rel=1e-6)
    assert out["state_map"]["columns"] == ["x", "v"]
    assert describe(out)[1] == (
        "baseline: the posterior latents' own linear map near rest (least squares on the lowest-energy 20% of "
        "consecutive test latents): natural frequency 3, damping 0.4; the same map of the true state: natural "
        "frequency 3, damping 0.4"
    )


def test_the_evidence_is_the_inference_networks_before_the_transitions_prior(tiny_model_and_frames):
    model, frames = tiny_model_and_frames
    with torch.no_grad():
        mean, std = model.evidence(frames)
        ev_mean, ev_std = model.inference(model.encode(frames), torch.ones(frames.shape[:2]))
        post = model.infer(frames, sample=False)
    torch.testing.assert_close(mean, ev_mean)
    torch.testing.assert_close(std, ev_std)
    assert not torch.allclose(post.q_mean, mean)  # the posterior fuses the transition's prior in


@pytest.fixture
def tiny_model_and_frames():
    from physvae.build import DataSpec, build_model
    from physvae.config import ModelConfig

    torch.manual_seed(0)
    spec = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=[])
    cfg = ModelConfig(transition="locally_linear", latent_dim=4, channels=4, features=16, rnn_hidden=16)
    return build_model(spec, cfg).eval(), torch.rand(3, 6, 1, 16, 16)
