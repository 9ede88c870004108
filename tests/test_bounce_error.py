"""The bounce-error split of benchmarks/bounce_error.py on velocities whose read-out is known."""

import numpy as np
import pytest

import simulators as S
from benchmarks.bounce_error import bounce_split, stencil_reference


def _bouncing(n: int = 40, t_len: int = 20) -> np.ndarray:
    """True velocities (n, T) of balls reflected every 5 to 9 frames: ±speed, the sign flipping at each bounce."""
    rng = np.random.default_rng(0)
    v = np.empty((n, t_len))
    for i in range(n):
        speed, sign, t = rng.uniform(0.5, 2.0), rng.choice([-1.0, 1.0]), 0
        while t < t_len:
            run = int(rng.integers(5, 10))
            v[i, t : t + run], sign, t = sign * speed, -sign, t + run
    return v


def test_a_perfect_read_out_has_no_error_anywhere():
    v = _bouncing()
    r = bounce_split(v[..., None], v, v[..., None], v)
    assert r["r2"] == pytest.approx(1.0) and r["r2_without_bounces"] == pytest.approx(1.0)
    assert r["read_over_true_before"] == pytest.approx(1.0)
    assert r["read_over_true_after"] == pytest.approx(1.0)


def test_a_read_out_that_halves_the_velocity_after_each_bounce_is_found_there():
    v = _bouncing()
    z = v.copy()
    after = np.zeros_like(v, bool)
    after[:, 1:] = np.sign(v[:, 1:]) != np.sign(v[:, :-1])
    z[after] *= 0.5
    r = bounce_split(v[..., None], v, z[..., None], v)  # probe fitted on the true velocities: slope 1
    assert r["bounce_error_share"] == pytest.approx(1.0)
    assert r["r2_without_bounces"] == pytest.approx(1.0)
    assert r["read_over_true_after"] == pytest.approx(0.5)
    assert r["read_over_true_before"] == pytest.approx(1.0)
    assert 0.0 < r["bounce_frames"] < 0.5 and r["r2"] < 1.0


def _bounce_split(n_frames: int = 12, dt: float = 0.2) -> S.Split:
    """Two balls at 5 units/s reflected halfway between frames 5 and 6 (one off a wall at 10, one off a wall at
    0): velocity +5 (−5) up to frame 5 and −5 (+5) from frame 6, positions exactly on those lines."""
    t = np.arange(n_frames) * dt
    right = 10.0 - np.abs(10.0 - (4.5 + 5.0 * t))
    left = np.abs(5.5 - 5.0 * t)
    x = np.stack([right, left])
    v = np.stack([np.where(t < 1.1, 5.0, -5.0), np.where(t < 1.1, -5.0, 5.0)])
    states = np.stack([x, v], -1)
    return S.Split(
        name="test",
        frames=np.zeros((2, n_frames, 4, 4, 1), np.uint8),
        states=states,
        params=np.zeros((2, 0)),
        inputs=None,
        state_names=["x0", "vx0"],
        state_units=["px", "px/s"],
        param_names=[],
        input_names=[],
        dt=dt,
        state_kinds=["position", "velocity"],
    )


def test_the_centred_stencil_reads_half_the_velocity_next_to_a_bounce_between_frames():
    r = stencil_reference(_bounce_split(), 0.2, 10, "centred", noise=1e-5)["vx0"]
    assert r["read_over_true_before"] == pytest.approx(0.5, abs=1e-3)  # (9.5 − 8.5) / 0.4 = 2.5 of 5
    assert r["read_over_true_after"] == pytest.approx(0.5, abs=1e-3)
    assert r["r2_without_bounces"] == pytest.approx(1.0, abs=1e-6)
    assert r["bounce_error_share"] == pytest.approx(1.0, abs=1e-6)


def test_the_kink_stencil_reads_the_velocity_on_each_side_of_a_bounce_exactly():
    r = stencil_reference(_bounce_split(), 0.2, 10, "kink", noise=1e-5)["vx0"]
    assert r["read_over_true_before"] == pytest.approx(1.0, abs=1e-3)
    assert r["read_over_true_after"] == pytest.approx(1.0, abs=1e-3)
    assert r["r2"] == pytest.approx(1.0, abs=1e-5)


def test_the_reference_refuses_a_noise_that_is_not_positive():
    with pytest.raises(ValueError, match="noise must be positive"):
        stencil_reference(_bounce_split(), 0.2, 10, "kink", noise=0.0)
