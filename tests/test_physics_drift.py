"""The physics transition's drifting parameters (``model.physics.drift``): a slow latent dimension per parameter
holding its offset from the global value. Checked against the stated pendulum with the parameter set exactly,
the simulator's own drifting gravity, float64 gradients, the decoder that must not read them, and clear errors."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import simulators as S
from physvae import DataSpec, ModelConfig, RunConfig, build_model, fit
from physvae.evaluate import EvalConfig, evaluate
from physvae.transitions import Physics, PhysicsConfig
from simulators import ConfigError

DRIFT = PhysicsConfig(system="pendulum", drift=["g_over_l"], substeps=10)


def _embedded(theta: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """The pendulum's latent (cos θ, sin θ, ω) (..., 3)."""
    return torch.stack([theta.cos(), theta.sin(), omega], -1)


@pytest.mark.usefixtures("float64_default")
def test_a_drifting_offset_steps_as_the_pendulum_with_that_parameter_and_stays_put():
    """z = (cos θ, sin θ, ω, o): one step moves (θ, ω) exactly as the stated pendulum told g/l = g₀ e^o and
    holds o; the offset's own process noise starts at ``drift_noise``."""
    torch.manual_seed(0)
    tr = Physics(4, 0, DRIFT)
    g0 = tr.global_params()[0].item()
    o = torch.tensor([-0.7, 0.0, 0.4])
    z = torch.cat([_embedded(torch.tensor([0.3, -2.0, 1.2]), torch.tensor([1.0, 0.5, -2.0])), o[:, None]], -1)
    mean, std, _ = tr.step(z, None, 0.1, None)
    torch.testing.assert_close(mean[:, 3], o, rtol=0, atol=0)
    for i in range(3):
        told = Physics(
            3, 0, PhysicsConfig(system="pendulum", substeps=10, known={"g_over_l": g0 * math.exp(o[i])})
        )
        told.w.data.copy_(tr.w.data)
        expected, _, _ = told.step(z[i : i + 1, :3], None, 0.1, None)
        torch.testing.assert_close(mean[i : i + 1, :3], expected, rtol=1e-12, atol=1e-12)
    assert std[0, 3].item() == pytest.approx(DRIFT.drift_noise)
    assert tr.slow_dims == (3,) and Physics.hidden_dims(6, DRIFT) == (5,)
    torch.testing.assert_close(tr.frame_params(z[None])[0, :, 0], g0 * o.exp())


@pytest.mark.usefixtures("float64_default")
def test_the_step_passes_gradcheck_through_the_offset():
    torch.manual_seed(1)
    tr = Physics(5, 1, PhysicsConfig(system="pendulum", drift=["g_over_l", "damping"], substeps=2))
    z, u = torch.randn(3, 5, requires_grad=True), torch.randn(3, 1)
    assert torch.autograd.gradcheck(lambda z: tr.step(z, None, 0.1, u)[0], (z,), eps=1e-6, atol=1e-7)


@pytest.mark.usefixtures("float64_default")
def test_offsets_fitted_to_a_simulated_drifting_gravity_follow_it(tmp_path: Path):
    """The simulator's gravity rises by half within each sequence; offsets o_t fitted frame by frame to the
    one-step error of its true states (global g/l held at 9.81, damping known 0) give g/l = 9.81 e^o_t equal to
    the saved g (l = 1) to 2 %, wherever the swing shows gravity (|sin θ| > 0.3)."""
    params = S.PendulumConfig(drift="gravity", drift_factor=(1.5, 1.5), omega0=(2.0, 3.0))
    cfg = S.DatasetConfig(system="pendulum", params=params, n_frames=20, dt=0.1, splits={"train": 6})
    cfg.render.size = 8
    split = S.load_dataset(S.generate(cfg, tmp_path / "drift"))["train"]
    names = split.state_names
    states = torch.tensor(split.states)
    theta, omega, g = (states[..., names.index(n)] for n in ("theta", "omega", "g"))
    tr = Physics(
        4, 0, PhysicsConfig(system="pendulum", drift=["g_over_l"], substeps=10, known={"damping": 0.0})
    )
    with torch.no_grad():
        tr.w[0] = math.log(9.81) / tr.cfg.param_scale
    y = _embedded(theta, omega)  # (N, T, 3)
    o = torch.zeros(*y.shape[:2], 1, requires_grad=True)
    opt = torch.optim.Adam([o], lr=0.05)
    for _ in range(300):
        mean, _, _ = tr.step(torch.cat([y, o], -1)[:, :-1].flatten(0, 1), None, 0.1, None)
        loss = (mean[:, :3] - y[:, 1:].flatten(0, 1)).pow(2).sum()
        opt.zero_grad(), loss.backward(), opt.step()
    learned = 9.81 * o.detach()[:, :-1, 0].exp()
    truth = (g[:, :-1] + g[:, 1:]) / 2  # the gravity over the step
    shown = theta[:, :-1].sin().abs() > 0.3
    assert shown.sum() > 40
    err = (learned / truth - 1).abs()[shown]
    assert err.max() < 0.02, err.max()


def test_the_decoder_does_not_read_the_drifting_dimensions():
    spec = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=["theta", "omega"])
    for decoder in ("conv", "render"):
        cfg = ModelConfig(latent_dim=5, transition="physics", decoder=decoder, channels=8, features=16)
        cfg.physics.drift = ["g_over_l"]
        model = build_model(spec, cfg).eval()
        assert model.decoded_dims == [0, 1, 2, 3]
        z = torch.randn(2, 3, 5)
        moved = z.clone()
        moved[..., 4] += 3.0
        torch.testing.assert_close(model.decode(z), model.decode(moved), rtol=0, atol=0)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(drift=["length"]), "not a parameter of 'pendulum'"),
        (dict(drift=["damping"], known={"damping": 0.0}), "known holds fixed"),
        (dict(drift=["damping", "damping"]), "twice"),
        (dict(drift=["damping"], params="sequence"), "params='global'"),
        (dict(drift=["damping"], drift_noise=0.0), "drift_noise"),
    ],
)
def test_bad_drift_settings_are_refused_naming_the_field(change, message):
    with pytest.raises(ConfigError, match=message):
        Physics(5, 0, PhysicsConfig(system="pendulum", **change))


def test_a_latent_without_room_for_the_offsets_is_refused():
    with pytest.raises(ConfigError, match="latent_dim ≥ 4 .*drifting"):
        Physics(3, 0, PhysicsConfig(system="pendulum", drift=["g_over_l"]))


def test_fit_and_evaluate_read_the_drifting_parameter_from_the_slow_dimension(tmp_path: Path):
    """End to end through fit/evaluate (a few steps): the timescales section reads the last latent dimension as
    the slow one, and the config round-trips through the run's saved TOML."""
    params = S.PendulumConfig(drift="gravity", drift_factor=(0.5, 1.5), bob_radius=0.3)
    data = S.generate(
        S.DatasetConfig(system="pendulum", params=params, n_frames=10, splits={"train": 8, "test": 4}),
        tmp_path / "data",
    )
    cfg = RunConfig().with_overrides(
        [
            "model.transition=physics",
            'model.physics.drift=["g_over_l"]',
            "model.latent_dim=4",
            "model.channels=8",
            "model.features=16",
            "model.rnn_hidden=16",
            f"train.data={data}",
            "train.steps=2",
            "train.batch_size=4",
            "train.device=cpu",
        ]
    )
    run = fit(cfg, tmp_path / "run", progress=False)
    assert RunConfig.load(tmp_path / "run" / "config.toml").model.physics.drift == ["g_over_l"]
    out = evaluate(
        run, data, tmp_path / "eval", EvalConfig(n_context=3, horizon=4, poly_probe=False), figures=False
    )
    ts = out["timescales"]
    assert ts["slow_dims"] == [3] and ts["parameters"] == ["g"]
    assert np.isfinite(ts["r2"]["slow"]["g"])
    assert set(ts["own"]) == {"g_over_l"} and np.isfinite(ts["own"]["g_over_l"]["r2"])


def test_a_filter_with_fitted_drift_is_warned_that_it_looks_ahead():
    spec = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=["theta", "omega"])
    cfg = ModelConfig(latent_dim=4, transition="physics", inference="filter", channels=8, features=16)
    cfg.physics.drift, cfg.physics.drift_evidence = ["g_over_l"], "fit"
    with pytest.warns(
        UserWarning, match="drift_evidence='fit': the drift at frame t is fitted over a window"
    ):
        assert build_model(spec, cfg).transition.looks_ahead
