from types import SimpleNamespace

import numpy as np
import pytest
import torch

import simulators as S
from physvae import DataSpec, EvalConfig, ModelConfig, build_model
from physvae.evaluation.context import EvalContext
from physvae.evaluation.timescales import (
    Timescales,
    parameter_r2,
    sequence_mean_r2,
    varying_parameters,
)


def _drifting(n: int, t: int, drift: float) -> np.ndarray:
    """y (n, t, 1): p0 = ±1 (alternating) plus the same linear drift from 0 to ``drift`` in every sequence."""
    p0 = np.resize([-1.0, 1.0], n)
    return (p0[:, None] + drift * np.linspace(0, 1, t)[None])[..., None]


def test_sequence_mean_reader_explains_the_between_sequence_share_of_the_variance():
    n, t, d = 40, 11, 1.5
    y = _drifting(n, t, d)
    w = d**2 * (t + 1) / (12 * (t - 1))  # variance of the drift d·τ over τ = 0, 1/(t−1), …, 1
    assert sequence_mean_r2(y, ["g"])["g"] == pytest.approx(1 - w / (1 + w), abs=1e-12)  # between variance: 1
    time = parameter_r2(y[:20], y[:20], y[20:], y[20:], ["g"], {})["time_baseline"]  # the frame index alone
    assert time["r2"]["g"] == pytest.approx(w / (1 + w), abs=1e-12)  # p0 ⟂ t: the drift's share
    assert time["r2_within"]["g"] == pytest.approx(1.0, abs=1e-12)


def test_read_outs_of_constructed_latents_have_their_known_r2():
    """Slow dims hold the parameter exactly (R² 1, within too); fast dims hold only each sequence's initial
    value (R² of the sequence-mean reader, nothing within); noise dims hold nothing (R² ≈ 0)."""
    rng = np.random.default_rng(1)

    def latents(n):
        y = _drifting(n, 20, 2.0)
        z = np.concatenate(
            [
                3 * y - 1,
                rng.normal(size=y.shape),
                np.broadcast_to(y[:, :1], y.shape),
                rng.normal(size=(n, 20, 2)),
            ],
            axis=-1,
        )
        return z, y

    (ztr, ytr), (zte, yte) = latents(400), latents(200)
    groups = {"slow": [0, 1], "start": [2], "noise": [3, 4]}
    out = parameter_r2(ztr, ytr, zte, yte, ["g"], groups)
    assert out["r2"]["slow"]["g"] == pytest.approx(1.0, abs=1e-9)
    assert out["r2_within"]["slow"]["g"] == pytest.approx(1.0, abs=1e-9)
    assert out["r2"]["start"]["g"] == pytest.approx(out["sequence_mean_baseline"]["g"], abs=1e-9)
    assert out["r2_within"]["start"]["g"] == pytest.approx(0.0, abs=1e-9)
    assert abs(out["r2"]["noise"]["g"]) < 0.01 and abs(out["r2_within"]["noise"]["g"]) < 0.01


def test_only_parameter_columns_that_vary_within_a_sequence_are_read():
    states = np.zeros((3, 5, 4))
    states[..., 0] = np.arange(5)  # theta: varies, but is no parameter
    states[..., 1] = np.arange(3)[:, None]  # g: differs between sequences only
    states[1, 3:, 2] = 0.4  # gamma: switches in one sequence
    states[..., 3] = np.arange(5)  # l: drifts
    assert varying_parameters(["theta", "g", "gamma", "l"], states) == [2, 3]


def test_section_is_skipped_without_slow_dims_or_a_varying_parameter():
    flat = SimpleNamespace(
        model=SimpleNamespace(transition=SimpleNamespace(slow_dims=(), name="locally_linear"))
    )
    assert "declares no slow latent" in Timescales().run(flat)["skipped"]
    lat = SimpleNamespace(z=np.zeros((2, 4, 3)), states=np.ones((2, 4, 2)))
    still = SimpleNamespace(
        model=SimpleNamespace(transition=SimpleNamespace(slow_dims=(0,), name="hierarchical")),
        train_latents=lat,
        test_latents=lat,
        test=SimpleNamespace(state_names=["theta", "g"]),
    )
    assert "no state column" in Timescales().run(still)["skipped"]


@pytest.fixture(scope="module")
def drift16(tmp_path_factory):
    """A tiny pendulum whose gravity drifts within each sequence (16×16, 12 frames)."""
    params = S.PendulumConfig(gravity=(8.0, 12.0), drift="gravity", drift_factor=(0.5, 1.5))
    cfg = S.DatasetConfig(
        system="pendulum",
        params=params,
        render=S.RenderConfig(size=16),
        n_frames=12,
        splits={"train": 16, "test": 8},
    )
    return S.load_dataset(S.generate(cfg, tmp_path_factory.mktemp("data") / "drift16"))


def _context(data, transition: str) -> EvalContext:
    torch.manual_seed(0)
    cfg = ModelConfig(transition=transition, latent_dim=4, channels=4, features=16, rnn_hidden=16)
    model = build_model(DataSpec.from_dataset(data), cfg).eval()
    return EvalContext(model, data, EvalConfig(n_context=4, horizon=8, poly_probe=False))


def test_section_reads_the_drifting_gravity_and_scores_the_second_half_of_the_horizon(drift16):
    ctx = _context(drift16, "hierarchical")
    out = Timescales().run(ctx)
    assert out["parameters"] == ["g"] and out["slow_dims"] == [0]  # the default slow_dim: 1
    assert set(out["r2"]) == set(out["r2_within"]) == {"slow", "fast", "all"}
    assert out["long_horizon"]["frames"] == [8, 12]  # 4 context frames, then 8 predicted: the last 4
    test = np.asarray(drift16["test"].frames, dtype=np.float64) / 255.0  # (N, T, H, W, C)
    mean = np.asarray(drift16["train"].frames, dtype=np.float64).mean((0, 1)) / 255.0
    assert out["long_horizon"]["mean_frame_mse"] == pytest.approx(
        ((test[:, 8:] - mean) ** 2).mean(), rel=1e-5
    )
    frames = torch.from_numpy(test).permute(0, 1, 4, 2, 3).float()
    pred, _ = ctx.model.predict(frames, 4, 8)
    assert out["long_horizon"]["mse"] == pytest.approx(
        float(((pred[:, 8:] - frames[:, 8:]) ** 2).mean()), rel=1e-5
    )
    assert "declares no slow latent" in Timescales().run(_context(drift16, "locally_linear"))["skipped"]


def test_the_physics_own_drifting_parameter_is_scored_against_the_per_frame_truth():
    """A physics transition whose drift dimension holds log(true g/l ÷ global) exactly: R² 1, error 0; the
    truth per frame takes the saved g column over the dataset's initial gravity, the length from the params."""
    from physvae.evaluation.timescales import own_parameters
    from physvae.transitions import Physics, PhysicsConfig

    rng = np.random.default_rng(0)
    n, t = 6, 9
    g = rng.uniform(6, 14, n)[:, None] * np.linspace(1, 1.4, t)[None]  # (N, T) drifting gravity
    length = rng.uniform(0.5, 1.5, n)
    params = np.stack(
        [np.ones(n), length, g[:, 0], np.zeros(n)], 1
    )  # mass, length, gravity (initial), damping
    states = np.zeros((n, t, 3))
    states[..., 2] = g
    truth = Physics(4, 0).physics.frame_truth(
        ["mass", "length", "gravity", "damping"], params, ["theta", "omega", "g"], states
    )
    np.testing.assert_allclose(truth["g_over_l"], g / length[:, None])
    np.testing.assert_allclose(truth["damping"], 0.0)
    tr = Physics(4, 0, PhysicsConfig(system="pendulum", drift=["g_over_l"]))
    base = tr.global_params()[0].item()
    z = np.zeros((n, t, 4), dtype=np.float32)
    z[..., 3] = np.log(truth["g_over_l"] / base)
    own = own_parameters(tr, z, truth)
    assert set(own) == {"g_over_l"}
    assert own["g_over_l"]["r2"] == pytest.approx(1.0, abs=1e-5)
    assert own["g_over_l"]["r2_within"] == pytest.approx(1.0, abs=1e-4)
    assert own["g_over_l"]["median_rel_error"] < 1e-5
    z[..., 3] = 0.0  # the global value everywhere: nothing of the drift
    assert own_parameters(tr, z, truth)["g_over_l"]["r2_within"] == pytest.approx(0.0, abs=1e-9)
