import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simulators import Pendulum, PendulumConfig
from simulators.pendulum import integrate

from .problems import exact_period, small_angle


def _run(theta0, omega0=0.0, g=9.81, l=1.0, gamma=0.0, m=1.0, n_frames=200, dt=0.01, u=None):
    params = np.array([[m, l, g, gamma]])
    y0 = np.array([[theta0, omega0]])
    u = np.zeros((1, n_frames)) if u is None else u
    return integrate(params, y0, u, n_frames, dt, max_step=0.005)


def test_small_angle_matches_cosine():
    t = np.arange(400) * 0.01
    theta, _ = _run(1e-3, n_frames=400)
    np.testing.assert_allclose(theta[0], small_angle(1e-3, 9.81, 1.0, t), atol=1e-3 * 2e-7 * 400)


@pytest.mark.parametrize("theta0", [0.5, 1.5, 2.8])
def test_large_angle_period_matches_elliptic_integral(theta0):
    g, l, dt = 9.81, 0.7, 0.001
    period = exact_period(theta0, g, l)
    n = int(1.6 * period / dt)
    theta, omega = _run(theta0, g=g, l=l, n_frames=n, dt=dt)
    # the first return to θ₀ from rest: ω changes sign from + to − at t = T
    k = np.nonzero((omega[0, :-1] > 0) & (omega[0, 1:] <= 0))[0][-1]
    t_cross = dt * (k + omega[0, k] / (omega[0, k] - omega[0, k + 1]))  # linear interpolation of the zero
    assert abs(t_cross - period) < 1e-5 * period


def test_rk4_error_against_tight_solve_ivp():
    """The measured error bound of the batch integrator: < 1e-7 rad over 3 s at the default sub-step."""
    theta, omega = _run(2.0, omega0=1.0, gamma=0.3, n_frames=31, dt=0.1)
    ref = solve_ivp(
        lambda t, y: [y[1], -9.81 * math.sin(y[0]) - 0.3 * y[1]],
        (0, 3.0),
        [2.0, 1.0],
        t_eval=np.arange(31) * 0.1,
        rtol=1e-12,
        atol=1e-12,
        method="DOP853",
    )
    assert np.max(np.abs(theta[0] - ref.y[0])) < 1e-7
    assert np.max(np.abs(omega[0] - ref.y[1])) < 1e-7


def _energy(config, n=16, n_frames=100, dt=0.05):
    sim = Pendulum(config)
    traj = sim.simulate([np.random.default_rng(i) for i in range(n)], n_frames, dt)
    return traj, traj.states[..., sim.state_names.index("energy")]


def test_energy_constant_without_damping():
    _, e = _energy(PendulumConfig(mass=(0.5, 2.0), length=(0.5, 1.5)))
    np.testing.assert_allclose(
        e, e[:, :1] * np.ones_like(e), rtol=1e-7, atol=1e-10
    )  # RK4 at max_step 0.01 s: drift ~2e-8 over 5 s


def test_energy_decreases_with_damping():
    _, e = _energy(PendulumConfig(damping=(0.2, 0.5)))
    assert np.all(np.diff(e, axis=1) <= 1e-12)
    assert np.all(e[:, -1] < 0.9 * e[:, 0])


def test_state_columns_are_consistent():
    traj, _ = _energy(PendulumConfig(length=(0.5, 1.5), torque_max=1.0))
    names = Pendulum(PendulumConfig()).state_names
    s = {k: traj.states[..., i] for i, k in enumerate(names)}
    l = traj.params[:, 1:2]
    np.testing.assert_allclose(np.sin(s["theta"]), s["sin_theta"], atol=1e-12)
    np.testing.assert_allclose(s["x"], l * s["sin_theta"], atol=1e-12)
    np.testing.assert_allclose(s["y"], -l * s["cos_theta"], atol=1e-12)
    assert traj.inputs.shape == (16, 100, 1) and np.abs(traj.inputs).max() <= 1.0


def test_phase_radius_sampling_matches_dm_suite():
    cfg = PendulumConfig(mass=(0.5, 0.5), gravity=(3.0, 3.0), init="phase_radius", radius=(1.3, 2.3))
    traj, _ = _energy(cfg, n=200, n_frames=2)
    q, p = traj.states[:, 0, 0], 0.5 * traj.states[:, 0, 1]  # p = m l² θ̇
    r = np.hypot(np.angle(np.exp(1j * q)), p)
    assert r.min() >= 1.3 - 1e-9 and r.max() <= 2.3 + 1e-9
