"""The bounce-error split of benchmarks/bounce_error.py on velocities whose read-out is known."""

import numpy as np
import pytest

from benchmarks.bounce_error import bounce_split


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
