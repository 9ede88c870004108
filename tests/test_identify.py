"""System identification of stated physics from trajectories, against exact solutions and an independent solver."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from physvae.physics import PHYSICS
from physvae.physics.identify import fit, needed_params, no_physics_reason, physics_for, read_states
from simulators import ConfigError


def damped_oscillator(k: float, gamma: float, n: int = 20, t_len: int = 30, dt: float = 0.1) -> np.ndarray:
    """Exact underdamped solutions of q̈ = −k q − γ q̇: (n, t_len, 2) of (q, q̇) from random starts."""
    rng = np.random.default_rng(0)
    a, w = gamma / 2, np.sqrt(k - gamma**2 / 4)
    t = np.arange(t_len) * dt
    amp, phase = rng.uniform(0.5, 2, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    q = amp * np.exp(-a * t) * np.cos(w * t + phase)
    v = amp * np.exp(-a * t) * (-a * np.cos(w * t + phase) - w * np.sin(w * t + phase))
    return np.stack([q, v], -1)


def pendulum_paths(
    g_over_l: float, gamma: float, n: int = 16, t_len: int = 40, dt: float = 0.1
) -> np.ndarray:
    """Large-amplitude damped pendulum (θ wrapped, ω) by scipy's DOP853 at tight tolerances: (n, t_len, 2)."""
    rng = np.random.default_rng(1)
    t = np.arange(t_len) * dt
    out = []
    for th0, om0 in zip(rng.uniform(-2.8, 2.8, n), rng.uniform(-2, 2, n)):
        sol = solve_ivp(
            lambda _, y: [y[1], -g_over_l * np.sin(y[0]) - gamma * y[1]],
            (0, t[-1]),
            [th0, om0],
            t_eval=t,
            method="DOP853",
            rtol=1e-11,
            atol=1e-12,
        )
        out.append(np.stack([np.angle(np.exp(1j * sol.y[0])), sol.y[1]], -1))
    return np.stack(out)


def test_mass_spring_recovers_the_exact_solutions_parameters():
    got = fit(PHYSICS["mass_spring"], damped_oscillator(k=4.0, gamma=0.3), dt=0.1)
    assert got["k_over_m"] == pytest.approx(4.0, rel=1e-4)
    assert got["damping"] == pytest.approx(0.3, rel=1e-3)


def test_pendulum_recovered_at_large_amplitude_with_wrapped_angles():
    got = fit(PHYSICS["pendulum"], pendulum_paths(g_over_l=9.0, gamma=0.5), dt=0.1)
    assert got["g_over_l"] == pytest.approx(9.0, rel=1e-3)
    assert got["damping"] == pytest.approx(0.5, rel=1e-2)


def test_undamped_fit_reads_no_damping():
    got = fit(PHYSICS["mass_spring"], damped_oscillator(k=2.0, gamma=0.0, dt=0.2), dt=0.2)
    assert abs(got["damping"]) < 1e-3 and got["k_over_m"] == pytest.approx(2.0, rel=1e-4)


def test_read_states_inverts_the_probe_targets():
    theta, omega = np.array([0.3, -2.9, 3.0]), np.array([1.0, -0.5, 2.0])
    targets = np.stack([omega, np.cos(theta), np.sin(theta)], -1)
    got = read_states(PHYSICS["pendulum"], targets, ["omega", "cos_theta", "sin_theta"])
    np.testing.assert_allclose(got, np.stack([theta, omega], -1), atol=1e-12)


def test_physics_for_picks_the_data_systems_physics():
    targets = ["omega", "sin_theta", "cos_theta", "x", "y", "energy"]
    states = ["theta", "omega", "sin_theta", "cos_theta", "x", "y", "energy"]
    assert physics_for(states, ["mass", "length", "gravity", "damping"], targets).name == "pendulum"
    assert physics_for(states, ["mass", "length"], targets) is None  # g/l cannot be known without gravity
    assert physics_for(["x", "y", "vx", "vy"], ["radius"], ["x", "y", "vx", "vy"]) is None
    # a user's pendulum without a mass: the undriven pendulum needs none (its torque gain is the driven one's)
    assert physics_for(states, ["gravity", "length", "damping"], targets).name == "pendulum"
    assert physics_for(states, ["gravity", "length", "damping"], targets, input_dim=1) is None
    assert physics_for(states, ["gravity", "length", "damping", "mass"], targets, 1).name == "pendulum_driven"


def test_a_users_damped_spring_keeps_its_damping():
    ph = PHYSICS["mass_spring"]
    values = np.array([[4.0, 2.0, 0.3]])
    assert ph.true_params(["k", "mass", "damping"], values) == {"k_over_m": 2.0, "damping": 0.3}
    assert ph.true_params(["k", "mass"], values[:, :2]) == {"k_over_m": 2.0, "damping": 0.0}  # ours: undamped


def test_the_needed_names_are_found_and_said_when_none_matches():
    assert needed_params(PHYSICS["pendulum"]) == ["gravity", "length", "damping"]
    assert needed_params(PHYSICS["pendulum_driven"]) == ["gravity", "length", "damping", "mass"]
    assert needed_params(PHYSICS["mass_spring"]) == ["k", "mass"]
    why = no_physics_reason(["theta", "omega"], ["g", "l", "b"], ["sin_theta", "cos_theta", "omega"])
    assert "pendulum needs states theta (angle), omega and parameters gravity, length, damping" in why
    assert "the data has states theta, omega; parameters g, l, b" in why and "--param-names" in why
    assert "box has no true parameters" in why and "pendulum_driven" not in why  # other input counts left out


def test_bad_trajectories_are_named():
    ph = PHYSICS["pendulum"]
    with pytest.raises(ConfigError, match=r"\(N, T ≥ 2, 2\)"):
        fit(ph, np.zeros((3, 1, 2)), dt=0.1)
    bad = np.zeros((2, 4, 2))
    bad[0, 1, 1] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        fit(ph, bad, dt=0.1)
    with pytest.raises(ConfigError, match="do not give the state"):
        read_states(ph, np.zeros((2, 1)), ["omega"])


def test_energy_gaining_motion_reads_negative_damping():
    got = fit(PHYSICS["mass_spring"], damped_oscillator(k=3.0, gamma=-0.2), dt=0.1)
    assert got["damping"] == pytest.approx(-0.2, rel=1e-3)


def test_driven_pendulum_recovers_the_torque_gain_with_held_inputs():
    rng = np.random.default_rng(2)
    n, t_len, dt = 12, 30, 0.1
    u = rng.uniform(-2, 2, (n, t_len - 1, 1))
    paths = np.zeros((n, t_len, 2))
    for i in range(n):
        y = np.array([rng.uniform(-2, 2), 0.0])
        paths[i, 0] = y
        for t in range(t_len - 1):  # the torque held over each interval, integrated by scipy
            sol = solve_ivp(
                lambda _, s, a=u[i, t, 0]: [s[1], -9.81 * np.sin(s[0]) - 0.5 * s[1] + 0.5 * a],
                (0, dt),
                y,
                method="DOP853",
                rtol=1e-11,
                atol=1e-12,
            )
            y = sol.y[:, -1]
            paths[i, t + 1] = [np.angle(np.exp(1j * y[0])), y[1]]
    got = fit(PHYSICS["pendulum_driven"], paths, dt, inputs=u)
    assert got["g_over_l"] == pytest.approx(9.81, rel=1e-3)
    assert got["damping"] == pytest.approx(0.5, rel=1e-2)
    assert got["torque_gain"] == pytest.approx(0.5, rel=1e-3)
    with pytest.raises(ConfigError, match=r"inputs must be \(12, ≥ 29, 1\)"):
        fit(PHYSICS["pendulum_driven"], paths, dt, inputs=u[:, :5])
    with pytest.raises(ConfigError, match="takes 0 inputs"):
        fit(PHYSICS["pendulum"], paths, dt, inputs=u)
