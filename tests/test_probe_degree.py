"""The probe-degree benchmark on latents built with a known chart: an angle held linearly, its cosine not."""

import numpy as np
import pytest

from benchmarks.probe_degree import degree_probe


def test_a_state_held_through_an_angle_reads_its_cosine_only_from_degree_two():
    """Latents (θ, θ̇) and noise dimensions: sin θ ≈ θ and θ̇ read at degree 1; cos θ = 1 − θ²/2 + … needs degree 2."""
    rng = np.random.default_rng(0)

    def sample(n):
        theta, omega = rng.uniform(-1, 1, n), rng.normal(0, 1, n)
        z = np.column_stack([theta, omega, 0.01 * rng.normal(size=(n, 3))])
        return z, np.column_stack([np.sin(theta), np.cos(theta), omega])

    (zt, yt), (ze, ye) = sample(2000), sample(500)
    out = degree_probe(zt, yt, ze, ye, ["sin", "cos", "omega"], components=4, degrees=[1, 2, 3])
    assert out["r2"][1]["omega"] == pytest.approx(1.0, abs=1e-4) and out["r2"][1]["sin"] > 0.99
    assert out["r2"][1]["cos"] < 0.05  # cos θ is even in θ: no linear read at all
    assert out["r2"][2]["cos"] > 0.99 and out["r2"][3]["cos"] > 0.999
    assert out["top2_variance"] > 0.99  # the noise dimensions carry almost nothing


def test_runs_of_other_systems_get_their_own_table():
    from benchmarks.probe_degree import table

    pend = {"run": "a/pendulum", "top2_variance": 0.7, "r2": {1: {"sin": 0.9, "cos": 0.8}}}
    box = {"run": "b/box/", "top2_variance": 0.5, "r2": {1: {"x0": 0.95}, 3: {"x0": 0.99}}}
    out = table([pend, box, pend])
    assert out.count("| run | degree | top-2 PC variance |") == 2
    assert "| run | degree | top-2 PC variance | sin | cos |" in out and "| box | 3 | 0.50 | 0.990 |" in out
    assert out.count("| pendulum | 1 | 0.70 | 0.900 | 0.800 |") == 2
