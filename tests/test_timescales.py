from types import SimpleNamespace

import numpy as np
import pytest

from physvae.evaluation.timescales import (
    Timescales,
    parameter_r2,
    sequence_mean_r2,
    varying_parameters,
)


def _drifting(n: int, t: int, drift: float, rng) -> np.ndarray:
    """y (n, t, 1): p0 = ±1 (half each) plus the same linear drift from 0 to ``drift`` in every sequence."""
    p0 = np.repeat([-1.0, 1.0], n // 2)
    rng.shuffle(p0)
    return (p0[:, None] + drift * np.linspace(0, 1, t)[None])[..., None]


def test_sequence_mean_reader_explains_the_between_sequence_share_of_the_variance():
    n, t, d = 40, 11, 1.5
    y = _drifting(n, t, d, np.random.default_rng(0))
    w = d**2 * (t + 1) / (12 * (t - 1))  # variance of the drift d·τ over τ = 0, 1/(t−1), …, 1
    assert sequence_mean_r2(y, ["g"])["g"] == pytest.approx(1 - w / (1 + w), abs=1e-12)  # between variance: 1


def test_read_outs_of_constructed_latents_have_their_known_r2():
    """Slow dims hold the parameter exactly (R² 1, within too); fast dims hold only each sequence's initial
    value (R² of the sequence-mean reader, nothing within); noise dims hold nothing (R² ≈ 0)."""
    rng = np.random.default_rng(1)

    def latents(n):
        y = _drifting(n, 20, 2.0, rng)
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
