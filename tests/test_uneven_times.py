"""Unevenly timed frames (dropped frames with time stamps): continuous-time transitions integrate over each
sequence's own intervals; discrete-time ones refuse them."""

import numpy as np
import pytest
import torch
from torch import nn

import simulators as S
from physvae import RunConfig, fit
from physvae.build import build_model
from physvae.config import ModelConfig
from physvae.data import SequenceDataset, uneven
from physvae.evaluate import evaluate
from physvae.hamiltonian import damp
from physvae.importer import import_video
from physvae.model import DataSpec
from physvae.transitions import TRANSITIONS, NeuralODE, NeuralODEConfig

A = torch.tensor([[0.0, 1.0], [-4.0, -0.3]], dtype=torch.float64)  # a damped oscillator, ω ≈ 2 rad/s


def linear_ode(substeps: int = 32) -> NeuralODE:
    """A first-order NeuralODE whose vector field is exactly ż = A z (the flow is expm(A t) z)."""
    tr = NeuralODE(2, 0, NeuralODEConfig(order=1, substeps=substeps)).double()
    lin = nn.Linear(2, 2, bias=False).double()
    lin.weight.data.copy_(A)
    tr.func.net = lin
    return tr


def test_one_step_per_sequence_interval_is_the_exact_linear_flow(float64_default):
    tr, z = linear_ode(), torch.tensor([[1.0, 0.0], [0.3, -1.2], [-0.5, 0.7]])
    dt = torch.tensor([[0.05], [0.37], [1.1]])
    mean, std, _ = tr.step(z, None, dt, None)
    exact = torch.stack([torch.linalg.matrix_exp(A * h) @ zi for h, zi in zip(dt[:, 0], z)])
    torch.testing.assert_close(mean, exact, atol=1e-6, rtol=0)
    assert std.shape == (3, 2) and tr.func.time_scale is None  # the scaling ends with the step
    for i in range(3):  # the batched solve equals one float-Δt solve per sequence (to rk4's own error)
        alone, _, _ = tr.step(z[i : i + 1], None, float(dt[i, 0]), None)
        torch.testing.assert_close(mean[i : i + 1], alone, atol=1e-12, rtol=0)


def test_a_rollout_over_uneven_intervals_composes_the_exact_flows(float64_default):
    tr, z0 = linear_ode(), torch.tensor([[1.0, -0.5], [0.2, 0.9]])
    dt = torch.tensor([[0.1, 0.3, 0.05], [0.7, 0.1, 0.2]])[..., None]  # (B, n_steps, 1)
    out = tr.rollout(z0, 3, dt)
    for b in range(2):
        z = z0[b]
        for t in range(3):
            z = torch.linalg.matrix_exp(A * dt[b, t, 0]) @ z
            torch.testing.assert_close(out[b, t], z, atol=1e-6, rtol=0)


def test_uneven_step_gradients_pass_float64_gradcheck(float64_default):
    tr = NeuralODE(4, 0, NeuralODEConfig(hidden=8, layers=1)).double()
    nn.init.normal_(tr.func.net[-1].weight, std=0.3)  # a non-trivial field (the last layer starts at zero)
    z = torch.randn(3, 4, requires_grad=True)
    dt = torch.tensor([[0.1], [0.25], [0.6]], requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, dt: tr.step(z, None, dt, None)[0], (z, dt))


def test_the_dissipative_half_step_takes_one_interval_per_sequence(float64_default):
    from physvae.hamiltonian import SeparableHamiltonian

    H = SeparableHamiltonian(2, hidden=8)
    q, p, D = torch.randn(3, 2), torch.randn(3, 2), torch.rand(3, 2)
    h = torch.tensor([[0.1], [0.4], [0.02]])
    batched = damp(H, q, p, h, D)
    for i in range(3):
        torch.testing.assert_close(
            batched[i], damp(H, q[i : i + 1], p[i : i + 1], float(h[i]), D[i : i + 1])[0]
        )


def _spec(dt=0.1) -> DataSpec:
    return DataSpec(size=16, channels=1, input_dim=0, dt=dt, binarized=False, state_names=[])


def _small(transition: str) -> ModelConfig:
    small = ["model.channels=4", "model.features=8", "model.rnn_hidden=8", "model.latent_dim=4"]
    return RunConfig().with_overrides([f"model.transition={transition}", *small]).model


@pytest.mark.parametrize("transition", ["neural_ode", "hamiltonian"])
def test_times_on_the_even_grid_give_the_posterior_without_times(transition):
    torch.manual_seed(0)
    model = build_model(_spec(0.1), _small(transition)).eval()
    frames, times = torch.rand(2, 6, 1, 16, 16), 0.1 * torch.arange(6, dtype=torch.float64).expand(2, 6)
    with torch.no_grad():
        plain, timed = model.infer(frames, sample=False), model.infer(frames, sample=False, times=times + 7.0)
        pred, _ = model.predict(frames, 3, 3)
        pred_t, _ = model.predict(frames, 3, 3, times=times)
    for a, b in ((plain.q_mean, timed.q_mean), (plain.p_std, timed.p_std), (pred, pred_t)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_a_longer_interval_widens_the_process_noise_as_a_diffusion():
    torch.manual_seed(0)
    model = build_model(_spec(0.1), _small("neural_ode")).eval()
    times = torch.tensor([[0.0, 0.1, 0.5, 0.6]], dtype=torch.float64)
    with torch.no_grad():
        post = model.infer(torch.rand(1, 4, 1, 16, 16), sample=False, times=times)
    ratio = post.p_std[0, 2] / post.p_std[0, 1]  # Δt 0.4 after Δt 0.1: the variance grows 4×
    torch.testing.assert_close(ratio, torch.full_like(ratio, 2.0))


def test_discrete_transitions_and_bad_times_are_refused_with_a_clear_error():
    frames = torch.rand(2, 4, 1, 16, 16)
    times = torch.tensor([[0.0, 0.1, 0.3, 0.4]] * 2, dtype=torch.float64)
    for name in ("locally_linear", "gru", "kalman"):
        cfg = (
            _small(name)
            if name != "kalman"
            else RunConfig().with_overrides(["model.transition=kalman"]).model
        )
        with pytest.raises(S.ConfigError, match="fixed Δt and cannot follow frame times"):
            build_model(_spec(), cfg).infer(frames, times=times)
    model = build_model(_spec(), _small("neural_ode"))
    with pytest.raises(S.ConfigError, match="must increase strictly"):
        model.infer(frames, times=times.flip(1))
    with pytest.raises(S.ConfigError, match=r"times must be \(B, ≥ 4\) seconds, got shape \(2, 3\)"):
        model.infer(frames, times=times[:, :3])
    assert {n for n, c in TRANSITIONS.items() if c.continuous_time()} == {
        "neural_ode",
        "physics",
        "hamiltonian",
    }


def dropped_frames(pend16, keep: int = 10, seed: int = 0):
    """The pendulum's test + train frames with 15 − ``keep`` frames dropped at random from each sequence: frames
    (N, keep, H, W, C), states (N, keep, D) and times (N, keep) in seconds."""
    data = S.load_dataset(pend16)
    frames = np.concatenate([data[s].frames for s in ("train", "test")])
    states = np.concatenate([data[s].states for s in ("train", "test")])
    rng = np.random.default_rng(seed)
    idx = np.sort(np.stack([rng.choice(frames.shape[1], keep, replace=False) for _ in frames]), axis=1)
    rows = np.arange(len(frames))[:, None]
    return frames[rows, idx], states[rows, idx], idx * data.dt, data


def test_dropped_frames_with_times_train_and_evaluate_end_to_end(pend16, tmp_path):
    frames, states, times, data = dropped_frames(pend16)
    out = import_video(frames, tmp_path / "d", states=states, state_names=data.meta["state_names"],
                       state_kinds=data.meta["state_kinds"], times=times)  # fmt: skip
    imported = S.load_dataset(out)
    assert imported.irregular_times and uneven(imported["train"].times)
    batch = SequenceDataset(imported["train"]).batch(np.arange(3))
    np.testing.assert_allclose(batch.times.numpy(), imported["train"].times[:3])
    tiny = ["train.steps=3", "train.batch_size=4", "model.channels=4", "model.features=8", "model.rnn_hidden=8",
            "model.latent_dim=4", "train.threads=1", "train.log_every=1"]  # fmt: skip
    cfg = RunConfig().with_overrides([f'train.data="{out}"', "model.transition=neural_ode", *tiny])
    run = fit(cfg, tmp_path / "run", progress=False)
    assert np.isfinite([m["loss"] for m in run.metrics()]).all()
    metrics = evaluate(run, out, tmp_path / "ev", figures=False)
    assert np.isfinite(metrics["reconstruction"]["mse"])
    assert set(metrics["physics"]["linear"]["r2"]) >= {"sin_theta", "cos_theta", "omega"}
    assert np.isfinite(metrics["prediction"]["mse"]) and np.isfinite(metrics["imputation"]["drop"]["0.5"])
