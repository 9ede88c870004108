import numpy as np
import pytest
import torch

from physvae.metrics import frames as fm
from physvae.metrics.dynamics import modes, observed_oscillation, oscillation
from physvae.metrics.intrinsic import pca_dimension, two_nn
from physvae.metrics.probe import linear_probe, pca_poly_probe, poly_probe, position_window, probe_targets

from .problems import damped_oscillator_map


def test_psnr_of_a_known_mse():
    truth = torch.full((2, 3, 1, 8, 8), 0.5)
    assert torch.allclose(fm.mse(truth + 0.1, truth), torch.full((2, 3), 0.01))
    assert torch.allclose(fm.psnr(truth + 0.1, truth), torch.full((2, 3), 20.0))


def test_ssim_identical_is_one_and_drops_with_noise():
    x = torch.rand(4, 1, 16, 16)
    assert torch.allclose(fm.ssim(x, x), torch.ones(4))
    assert torch.all(fm.ssim((x + 0.3 * torch.randn_like(x)).clamp(0, 1), x) < 0.9)
    with pytest.raises(ValueError, match="window 7 is larger"):
        fm.ssim(torch.rand(1, 1, 5, 5), torch.rand(1, 1, 5, 5))


def test_vpt_on_a_constructed_error_curve():
    errors = np.array(
        [[0.0, 0.01, 0.02, 0.03, 0.5], [0.0] * 5, [0.1, 0, 0, 0, 0], [0.0, 0.025, 0.0251, 0, 0]]
    )
    np.testing.assert_array_equal(fm.valid_prediction_time(errors), [3, 5, 0, 2])


def test_valid_frames_tell_a_spike_from_a_drift():
    """A one-frame spike ends VPT at once but leaves the other frames valid; a drift ends both."""
    errors = np.array(
        [[0.0, 0.01, 0.02, 0.03, 0.5], [0.0] * 5, [0.1, 0, 0, 0, 0], [0.0, 0.025, 0.0251, 0, 0]]
    )
    np.testing.assert_array_equal(fm.valid_frames(errors), [3, 5, 4, 4])
    d = fm.vpt_distribution(errors)  # VPT [3, 5, 0, 2], sorted [0, 2, 3, 5], linear interpolation
    assert d["vpt_quartiles"] == [1.5, 2.5, 3.5]
    assert d["vpt_full_share"] == 0.25 and d["valid_frames_median"] == 4.0
    assert d["vpt_median"] == 2.5 and d["vpt_fraction"] == 2.5 / 5


def test_normalized_error_matches_definition():
    gt, pred = torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 2, 2), 0.4)
    assert torch.allclose(fm.normalized_error(pred, gt), torch.tensor([0.01 / 0.25]))


def test_hamming_on_known_masks():
    truth = torch.zeros(1, 1, 4, 4)
    pred = truth.clone()
    pred[0, 0, :2, :] = 0.7  # 8 of 16 pixels cross 0.5
    pred[0, 0, 3, 0] = 0.49  # stays below
    assert fm.hamming(pred, truth).item() == 0.5
    seq = torch.zeros(1, 3, 1, 4, 4)
    seq[0, 1, 0, 0, :] = 1  # 4 pixels differ between frames 0 and 1, and 1 and 2
    assert fm.consecutive_hamming_baseline(seq) == 0.25


def test_linear_probe_is_one_on_a_linear_transform_and_zero_on_noise():
    rng = np.random.default_rng(0)
    s_tr, s_te = rng.normal(size=(50, 10, 3)), rng.normal(size=(50, 10, 3))
    M = rng.normal(size=(3, 5))
    names = ["a", "b", "c"]
    r = linear_probe(s_tr @ M, s_tr, s_te @ M, s_te, names)
    assert all(v > 1 - 1e-9 for v in r.r2.values())
    noise = linear_probe(rng.normal(size=(50, 10, 5)), s_tr, rng.normal(size=(50, 10, 5)), s_te, names)
    assert all(abs(v) < 0.05 for v in noise.r2.values())


def test_position_window_stacks_neighbouring_positions_and_repeats_the_ends():
    y = np.arange(2 * 4 * 3, dtype=float).reshape(2, 4, 3)  # columns x, v, y: v is no position
    w = position_window(y, ["coordinate", "velocity", "angle"])
    assert w.shape == (2, 4, 6)
    np.testing.assert_array_equal(
        w[:, 2], np.concatenate([y[:, 1], y[:, 2], y[:, 3]], -1)[:, [0, 2, 3, 5, 6, 8]]
    )
    np.testing.assert_array_equal(w[:, 0, :2], y[:, 0, [0, 2]])  # frame −1 is frame 0
    np.testing.assert_array_equal(w[:, 3, 4:], y[:, 3, [0, 2]])  # frame T is frame T−1
    assert position_window(y, ["velocity"] * 3) is None
    with pytest.raises(ValueError, match=r"\(N, T, 2\) for 2 kinds"):
        position_window(y, ["coordinate", "velocity"])


def _bouncing(n: int, t: int, rng, wall: float | None) -> np.ndarray:
    """Positions and velocities (n, t, 2) of a point moving at constant speed, reflected at ±wall if given."""
    x0, v0 = rng.uniform(-1, 1, n), rng.uniform(-0.5, 0.5, n)
    free = x0[:, None] + v0[:, None] * np.arange(t)
    if wall is None:
        return np.stack([free, np.broadcast_to(v0[:, None], free.shape)], -1)
    period = 4 * wall  # the reflected coordinate is a triangle wave of the free one
    u = np.mod(free + wall, period)
    x = np.where(u < 2 * wall, u - wall, 3 * wall - u)
    return np.stack([x, np.where(u < 2 * wall, 1.0, -1.0) * v0[:, None]], -1)


def test_position_window_reads_free_flight_velocity_exactly_and_bounces_not():
    rng = np.random.default_rng(1)
    kinds, names = ["coordinate", "velocity"], ["x", "v"]
    for wall, exact in ((None, True), (0.6, False)):
        tr, te = _bouncing(200, 12, rng, wall), _bouncing(200, 12, rng, wall)
        w_tr, w_te = position_window(tr, kinds)[:, 1:-1], position_window(te, kinds)[:, 1:-1]
        r2 = linear_probe(w_tr, tr[:, 1:-1], w_te, te[:, 1:-1], names).r2
        assert r2["x"] > 1 - 1e-9
        assert (r2["v"] > 1 - 1e-9) == exact and r2["v"] > 0.3


def test_probe_targets_read_angles_through_sin_and_cos_and_keep_every_other_column():
    rng = np.random.default_rng(0)
    s = rng.uniform(-3, 3, size=(4, 5, 3))
    y, names = probe_targets(s, ["phi", "phi_dot", "e"], ["angle", "velocity", "energy"])
    assert names == ["sin_phi", "cos_phi", "phi_dot", "e"]
    np.testing.assert_array_equal(
        y, np.stack([np.sin(s[..., 0]), np.cos(s[..., 0]), s[..., 1], s[..., 2]], -1)
    )
    # a column named like a pendulum angle is not an angle unless the data says so: nothing is dropped
    _, plain = probe_targets(s, ["theta", "theta_dot", "sin_theta"], None)
    assert plain == ["theta", "theta_dot", "sin_theta"]
    # an angle whose sin and cos the data already holds is probed through those columns, in their place
    both = np.concatenate([s[..., :1], np.sin(s[..., :1]), np.cos(s[..., :1])], -1)
    _, named = probe_targets(both, ["q", "sin_q", "cos_q"], ["angle", "derived", "derived"])
    assert named == ["sin_q", "cos_q"]


def test_poly_probe_recovers_a_quadratic_state():
    rng = np.random.default_rng(1)
    z_tr, z_te = rng.uniform(-1, 1, size=(40, 10, 2)), rng.uniform(-1, 1, size=(40, 10, 2))
    s = lambda z: np.stack([z[..., 0] ** 2 + z[..., 1], z[..., 0] * z[..., 1]], -1)  # noqa: E731
    lin = linear_probe(z_tr, s(z_tr), z_te, s(z_te), ["p", "q"])
    poly = poly_probe(z_tr, s(z_tr), z_te, s(z_te), ["p", "q"], var_train=np.full_like(z_tr, 0.01))
    assert lin.r2["q"] < 0.2 and poly.degree == 2 and min(poly.r2.values()) > 0.99


def test_the_curved_probe_reads_a_state_held_through_a_rotated_chart_and_not_one_lost():
    """Latents (θ, ω) plus small noise, rotated into 16 dimensions: cos θ is even in θ, so no linear read; degree 3
    of the top principal components reads it. A target the latents never held reads in neither."""
    rng = np.random.default_rng(3)
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def sample(n):
        theta, omega = rng.uniform(-1.5, 1.5, (n, 10)), rng.normal(0, 1, (n, 10))
        noise = 0.01 * rng.normal(size=(n, 10, 14))
        z = np.concatenate([theta[..., None], omega[..., None], noise], -1) @ rotation.T
        lost = rng.normal(size=(n, 10))
        return z, np.stack([np.cos(theta), omega, lost], -1)

    (zt, yt), (ze, ye) = sample(200), sample(50)
    names = ["cos_theta", "omega", "lost"]
    lin, curved = linear_probe(zt, yt, ze, ye, names), pca_poly_probe(zt, yt, ze, ye, names)
    assert lin.r2["cos_theta"] < 0.05 and curved.r2["cos_theta"] > 0.99
    assert lin.r2["omega"] > 0.999 and curved.r2["omega"] > 0.999
    assert lin.r2["lost"] < 0.01 and curved.r2["lost"] < 0.01
    assert (curved.protocol, curved.degree, curved.kept_latents) == ("pca_poly_ridge", 3, 8)
    assert pca_poly_probe(zt[..., :3], yt, ze[..., :3], ye, names).kept_latents == 3  # no more than D
    few = pca_poly_probe(zt[:1, :5], yt[:1, :5], ze, ye, names)  # 5 training latents: 5 components at most
    assert few.kept_latents == 5


def test_eigen_analysis_returns_the_oscillators_frequency_and_damping():
    omega0, gamma, dt = 3.0, 0.4, 0.1
    osc = oscillation(damped_oscillator_map(omega0, gamma, dt), dt)
    assert osc["frequency"] == pytest.approx(np.sqrt(omega0**2 - gamma**2 / 4), rel=1e-9)
    assert osc["damping"] == pytest.approx(gamma, rel=1e-9)
    assert osc["natural_frequency"] == pytest.approx(omega0, rel=1e-9)
    assert oscillation(np.diag([0.9, 0.5]), dt) is None
    assert [m.decay for m in modes(np.diag([0.9, 0.5]), dt)] == pytest.approx(-np.log([0.9, 0.5]) / dt)


def _ghost_and_oscillator(ghost_amplitude: float, seed: int = 0):
    """A 4-D map: a slow undamped ghost rotation (ω 1.3, |λ| 0.999) beside the damped oscillator (ω₀ 3, γ 0.4),
    in a random basis; latents of 20 oscillator trajectories (ghost coordinates of the given amplitude, random
    and unrelated to the state) and the oscillator's true (x, ẋ)."""
    dt, rng = 0.1, np.random.default_rng(seed)
    c, s_ = np.cos(1.3 * dt), np.sin(1.3 * dt)
    ghost = 0.999 * np.array([[c, -s_], [s_, c]])
    osc = damped_oscillator_map(3.0, 0.4, dt)
    A = np.zeros((4, 4))
    A[:2, :2], A[2:, 2:] = ghost, osc
    P = rng.normal(size=(4, 4))
    x = [rng.normal(size=2)]
    for _ in range(20 * 30 - 1):
        x.append(osc @ x[-1])
    x = np.array(x)
    g = ghost_amplitude * rng.normal(size=(len(x), 2))
    z = np.concatenate([g, x], axis=1) @ P.T
    return P @ A @ np.linalg.inv(P), dt, z, x


@pytest.mark.parametrize("ghost_amplitude", [1e-3, 5.0])
def test_the_observed_pair_is_the_one_carrying_the_state_not_the_slowest(ghost_amplitude):
    A, dt, z, state = _ghost_and_oscillator(ghost_amplitude)
    assert oscillation(A, dt)["frequency"] == pytest.approx(1.3, rel=1e-6)  # the ghost decays slowest
    osc = observed_oscillation(A, dt, z, state)
    assert osc["natural_frequency"] == pytest.approx(3.0, rel=1e-6)
    assert osc["damping"] == pytest.approx(0.4, rel=1e-6)
    assert osc["slowest"]["frequency"] == pytest.approx(1.3, rel=1e-6)
    assert (
        osc["r2"] == pytest.approx(1.0, abs=1e-9) and osc["runner_up"] < 0.05
    )  # the pair holds (x, ẋ) exactly
    assert observed_oscillation(np.diag([0.9, 0.5]), dt, z[:, :2], state) is None


def test_nearly_parallel_eigenvectors_fall_back_to_the_slowest_pair():
    dt = 0.1
    jordan = np.array(
        [[0.9, 1.0, 0.0, 0.0], [0.0, 0.9, 0.0, 0.0], [0.0, 0.0, 0.5, -0.5], [0.0, 0.0, 0.5, 0.5]]
    )
    z = np.random.default_rng(0).normal(size=(50, 4))
    osc = observed_oscillation(jordan + 1e-12 * np.eye(4)[::-1], dt, z, z[:, :2])
    assert osc["selected"].startswith("slowest pair") and "r2" not in osc
    for k, v in oscillation(jordan, dt).items():
        assert osc[k] == pytest.approx(v, rel=1e-6)


def test_intrinsic_dimension_of_a_plane_in_five_dimensions():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3000, 2)) @ rng.normal(size=(2, 5))
    assert two_nn(x) == pytest.approx(2.0, abs=0.2)
    assert pca_dimension(x) == 2


def test_poly_probe_caps_the_number_of_features():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 5, 32))
    y = z[..., :1] ** 2  # needs degree 2, which for 32 latents means 560 features
    assert poly_probe(z, y, z, y, ["a"], max_features=100).degree == 1
    assert poly_probe(z, y, z, y, ["a"], max_features=1000).degree == 2
