import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import simulators as S
from physvae import DataSpec, RunConfig, TemporalVAE, fit
from physvae.cli import main
from physvae.likelihoods import Gaussian
from physvae.metrics import motion
from physvae.physics.quantities import _energy_state
from physvae.synthesis import (
    LinearProbe,
    SynthesisConfig,
    check_quantity,
    correlation,
    fit_probe,
    latent_edit,
    measure,
    probe_targets_for,
    rollout_edits,
    synthesize,
)
from physvae.transitions import TRANSITIONS, Transition
from simulators import ConfigError

SIZE, R, DT = 32, 10.0, 0.1  # the constructed decoder's image side, bob radius (pixels) and frame interval


class Rotor(Transition):
    """z = (sin θ, cos θ, θ̇): θ advances by θ̇ Δt each step, exactly (a known answer for the rollout)."""

    name = "rotor_test"

    def step(self, z, state, dt, u):
        theta = torch.atan2(z[:, 0], z[:, 1]) + z[:, 2] * dt
        mean = torch.stack([theta.sin(), theta.cos(), z[:, 2]], -1)
        return mean, torch.ones_like(mean), state


class BobDecoder(nn.Module):
    """z (N, 3) -> a Gaussian blob (N, 1, SIZE, SIZE) where the pendulum's bob is at angle atan2(z_0, z_1)."""

    def forward(self, z):
        theta = torch.atan2(z[:, 0], z[:, 1])
        row, col = SIZE / 2 + R * theta.cos(), SIZE / 2 + R * theta.sin()  # θ = 0 hangs down (rows grow down)
        grid = torch.arange(SIZE, dtype=z.dtype) + 0.5
        d2 = (grid[None, :, None] - row[:, None, None]) ** 2 + (grid[None, None, :] - col[:, None, None]) ** 2
        return torch.exp(-d2 / (2 * 1.5**2))[:, None]


def _constructed_model() -> TemporalVAE:
    spec = DataSpec(size=SIZE, channels=1, input_dim=0, dt=DT, binarized=False, state_names=[])
    likelihood = Gaussian(0.1)
    return TemporalVAE(spec, nn.Identity(), BobDecoder(), nn.Identity(), Rotor(3), likelihood)


def _bob_calibration() -> motion.Calibration:
    """Pixel (row, col) -> world (x, y) of the constructed decoder: x = (col − c) / R, y = −(row − c) / R."""
    c = SIZE / 2
    affine = np.array([[0.0, -1 / R], [1 / R, 0.0], [-c / R, c / R]])
    return motion.Calibration(affine, np.zeros((SIZE, SIZE, 1)))


# a probe that reads (sin θ, cos θ, θ̇) off the constructed latents exactly
PROBE = LinearProbe(np.eye(3), np.zeros(3), ["sin_theta", "cos_theta", "omega"])


def _sweep(quantity: str, values, holds):
    z0 = torch.tensor([[np.sin(0.3), np.cos(0.3), 1.0], [np.sin(-2.0), np.cos(-2.0), -0.5]])

    def edit(z, state, v):
        moved = PROBE.edit(z.numpy(), probe_targets_for(quantity, PROBE, z.numpy(), v), holds)
        return torch.as_tensor(moved, dtype=z.dtype), state

    with torch.no_grad():
        frames = rollout_edits(_constructed_model(), z0, None, None, edit, values, horizon=4).numpy()
    return frames, _bob_calibration().positions(frames, channel_axis=-3)


def test_a_decoder_that_draws_the_probes_angle_gives_correlation_one():
    values = np.linspace(-2.5, 2.5, 9)
    frames, xy = _sweep("angle", values, ("omega",))
    assert frames.shape == (2, 9, 5, 1, SIZE, SIZE)
    measured = measure("angle", xy, DT)
    np.testing.assert_allclose(motion.wrap(measured - values), 0, atol=0.01)
    c = correlation(values, measured, circular=True)
    assert c["pearson_r"] > 0.9999 and abs(c["slope"] - 1) < 0.01 and c["missing"] == 0


def test_setting_the_angular_velocity_moves_the_rendered_bob_at_that_rate():
    values = np.linspace(-4, 4, 7)
    _, xy = _sweep("angular_velocity", values, ("sin_theta", "cos_theta"))
    measured = measure("angular_velocity", xy, DT)
    np.testing.assert_allclose(measured, np.broadcast_to(values, measured.shape), atol=0.05)
    assert correlation(values, measured)["pearson_r"] > 0.999
    # the angle was held: the edited frame shows the starting angles
    np.testing.assert_allclose(motion.pendulum_angle(xy[:, :, 0]), [[0.3] * 7, [-2.0] * 7], atol=0.01)


def test_a_decoder_that_ignores_the_edit_gives_no_correlation():
    values = np.linspace(-2.5, 2.5, 9)
    _, xy = _sweep("angle", values, ("omega",))
    frozen = np.broadcast_to(
        measure("angle", xy, DT)[:, :1], (2, 9)
    )  # what a model that ignores the edit draws
    assert abs(correlation(values, frozen, circular=True)["pearson_r"]) < 1e-9  # wrapping adds none either


@pytest.mark.parametrize("with_cov", [False, True])
def test_the_probe_edit_sets_its_rows_holds_the_others_and_moves_least(with_cov):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    cov = m @ m.T + np.eye(6) if with_cov else None
    probe = LinearProbe(rng.normal(size=(3, 6)), rng.normal(size=3), ["a", "b", "c"], cov)
    z = rng.normal(size=(4, 6))
    moved = probe.edit(z, {"a": np.full(4, 2.0)}, ("b",))
    after, before = probe.read(moved), probe.read(z)
    np.testing.assert_allclose(after["a"], 2.0)
    np.testing.assert_allclose(after["b"], before["b"])
    # least in Σ's norm: the whitened change Σ^-1/2 Δ lies in the span of the whitened rows W Σ^1/2
    half = np.linalg.cholesky(np.eye(6) if cov is None else cov)  # Σ = L Lᵀ
    w, dz = probe.weight[:2] @ half, np.linalg.solve(half, (moved - z).T).T
    np.testing.assert_allclose(dz, dz @ np.linalg.pinv(w) @ w, atol=1e-10)


def test_the_covariance_edit_follows_the_direction_the_data_vary_along():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(2000, 1))  # the quantity; the latents hold it along (1, 1), plus a quiet third axis
    z = np.concatenate([y + 0.05 * rng.normal(size=(2000, 2)), 0.01 * rng.normal(size=(2000, 1))], 1)
    probe = fit_probe(z[:, None], y[:, None], ["q"], ["coordinate"])
    moved = probe.edit(np.zeros((1, 3)), {"q": np.ones(1)}, ())
    np.testing.assert_allclose(moved[0], [1, 1, 0], atol=0.1)  # the pattern, not the filter's leaning weights


def test_pendulum_parameters_are_recovered_from_an_exact_path():
    from simulators.pendulum import integrate

    params = np.array([[1.0, 0.8, 9.81, 0.3], [2.0, 1.2, 5.0, 0.1]])  # mass, length, gravity, damping
    u = np.zeros((2, 200))
    theta, _ = integrate(params, np.array([[1.0, 0.0], [0.5, 2.0]]), u, 200, 0.01, 0.001)
    fit = motion.pendulum_parameters(theta, 0.01)
    np.testing.assert_allclose(fit["g_over_l"], params[:, 2] / params[:, 1], rtol=0.01)
    np.testing.assert_allclose(fit["damping"], params[:, 3], atol=0.01)


def test_the_frame_read_out_follows_the_true_angle_and_speed(tmp_path):
    pend = S.generate(S.preset("dm_pendulum32", splits={"train": 16, "test": 4}), tmp_path / "p")
    data = S.load_dataset(pend)
    train, test = data["train"], data["test"]
    names = train.state_names
    xy_cols = [names.index("x"), names.index("y")]
    cal = motion.calibrate(np.asarray(train.frames), np.asarray(train.states)[..., xy_cols])
    xy = cal.positions(np.asarray(test.frames) / 255.0)
    theta = np.asarray(test.states)[..., names.index("theta")]
    assert np.abs(motion.wrap(motion.pendulum_angle(xy) - theta)).max() < 0.1
    balls = S.load_dataset(
        S.generate(S.preset("kvae_box32", splits={"train": 16, "test": 4}), tmp_path / "b")
    )
    bn = balls["train"].state_names
    cal = motion.calibrate(np.asarray(balls["train"].frames), np.asarray(balls["train"].states)[..., :2])
    v = motion.speed(cal.positions(np.asarray(balls["test"].frames) / 255.0), balls.dt)
    true = np.hypot(
        *np.moveaxis(np.asarray(balls["test"].states)[..., [bn.index("vx0"), bn.index("vy0")]], -1, 0)
    )
    assert np.median(np.abs(v - true[:, :-1]) / true[:, :-1]) < 0.1  # bounces blur single intervals


@pytest.mark.parametrize(
    "name, via, system, transition, match",
    [
        ("spin", "probe", "pendulum", "locally_linear", "unknown quantity 'spin'; known quantities"),
        ("speed", "probe", "pendulum", "locally_linear", "belongs to balls data; this data is 'pendulum'"),
        ("angle", "latent", "pendulum", "locally_linear", "needs via='probe'"),
        ("energy", "latent", "pendulum", "physics", "needs via='probe'"),
        ("g_over_l", "probe", "pendulum", "physics", "use via='latent'"),
        (
            "g_over_l",
            "latent",
            "pendulum",
            "hamiltonian",
            "unknown quantity 'g_over_l'",
        ),  # states no parameters
    ],
)
def test_bad_quantities_get_a_clear_error(name, via, system, transition, match):
    with pytest.raises(ConfigError, match=match):
        check_quantity(name, via, system, TRANSITIONS[transition](4, 0))


def test_a_hamiltonian_in_the_pendulums_coordinates_edits_its_angle_in_the_latent():
    tr = TRANSITIONS["hamiltonian"](4, 0, TRANSITIONS["hamiltonian"].config_class(coordinates="pendulum"))
    check_quantity("angle", "latent", "pendulum", tr)
    with pytest.raises(ConfigError, match="unknown quantity 'g_over_l'"):
        check_quantity("g_over_l", "latent", "pendulum", tr)
    z = torch.tensor([[1.0, 0.0, 2.0, 0.5]])
    edited, _ = latent_edit(tr, z, None, "angle", 0.5)
    torch.testing.assert_close(edited, torch.tensor([[math.cos(0.5), math.sin(0.5), 2.0, 0.5]]))


def test_bad_sweep_settings_name_the_field():
    with pytest.raises(ConfigError, match="synthesis via must be one of"):
        SynthesisConfig(via="decoder").validate()
    with pytest.raises(ConfigError, match="synthesis.horizon must be at least"):
        SynthesisConfig(horizon=2).validate()


def test_synthesize_runs_on_a_physics_run_and_the_cli_writes_its_files(pend16, tmp_path, capsys):
    cfg = RunConfig().with_overrides(
        [
            f"train.data={json.dumps(str(pend16))}",
            "model.transition=physics",
            "model.channels=4",
            "model.features=16",
            "model.rnn_hidden=16",
            "train.steps=2",
            "train.batch_size=4",
            "train.threads=1",
        ]
    )
    run = fit(cfg, tmp_path / "r", progress=False)
    data = S.load_dataset(pend16)
    result = synthesize(
        run.model, data, SynthesisConfig("g_over_l", "latent", steps=3, n_sequences=2, horizon=14)
    )
    assert result.measured.shape == (2, 3) and result.frames.shape[:3] == (2, 3, 15)
    assert result.summary["unit"] == "1/s²"  # the stated parameter's own unit
    args = ["synthesize", str(tmp_path / "r"), "--quantity", "angle", "--steps", "3", "--sequences", "2"]
    assert main([*args, "--horizon", "6"]) == 0
    out = tmp_path / "r" / "synthesis"
    assert {p.name for p in out.iterdir()} >= {"synthesis.json", "synthesis.png", "synthesis.gif"}
    assert json.loads((out / "synthesis.json").read_text())["quantity"] == "angle"
    assert main(["synthesize", str(tmp_path / "r"), "--quantity", "spin"]) == 2
    assert "unknown quantity 'spin'" in capsys.readouterr().err


def test_the_energy_edit_asks_for_a_state_of_exactly_that_energy():
    params = np.array([[1.0, 1.0, 9.81, 0.5], [2.0, 0.5, 5.0, 0.1]])
    theta, omega = np.array([0.5, -2.0]), np.array([-1.0, 3.0])
    now = {"sin_theta": np.sin(theta), "cos_theta": np.cos(theta), "omega": omega}
    for energy in (0.3, 2.0, 15.0):  # below and above the potential at the current angles
        state = _energy_state(now, energy, params)
        th = np.arctan2(state["sin_theta"], state["cos_theta"])
        np.testing.assert_allclose(motion.pendulum_energy(th, state["omega"], params), energy, rtol=1e-9)
        assert (np.sign(th) == np.sign(theta)).all()
        moving = state["omega"] != 0
        assert (np.sign(state["omega"][moving]) == np.sign(omega[moving])).all()
