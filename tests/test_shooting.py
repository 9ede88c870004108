"""The shooting fit (physvae.physics.shooting) against trajectories solved independently by scipy."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from physvae.physics import PHYSICS
from physvae.physics.shooting import shooting_fit, trajectory
from simulators import ConfigError

DT, FRAMES = 0.05, 30
PEND = PHYSICS["pendulum"]


def _scipy_pendulum(theta0, omega0, k, gamma):
    """Angles and velocities (T, 2) of θ̈ = −k sin θ − γ θ̇ at the frame times, solved to 1e-11."""
    t = np.arange(FRAMES) * DT
    sol = solve_ivp(
        lambda _, y: [y[1], -k * np.sin(y[0]) - gamma * y[1]],
        (0, t[-1]),
        [theta0, omega0],
        t_eval=t,
        rtol=1e-11,
        atol=1e-12,
    )
    return sol.y.T


CASES = [(0.4, 0.0, 3.5, 0.0), (-1.2, 1.0, 7.0, 0.3), (2.0, -0.5, 5.0, 0.1), (0.9, 2.0, 4.2, 0.05)]


@pytest.fixture(scope="module")
def observed():
    return torch.tensor(np.stack([_scipy_pendulum(*c) for c in CASES]))


def test_trajectory_matches_scipy(observed):
    y0 = observed[:, 0]
    params = torch.tensor([[c[2], c[3]] for c in CASES], dtype=torch.float64)
    traj = trajectory(PEND, y0, params, DT, FRAMES, substeps=4)
    assert torch.allclose(traj, observed, atol=1e-6)


def test_angle_alone_recovers_parameters_and_velocity(observed):
    fit = shooting_fit(
        PEND,
        observed,
        torch.tensor([1.0, 0.0]),
        DT,
        starts=[[3.0, 0.1], [7.0, 0.1]],
        noise=0.01,
        iterations=40,
        substeps=4,
    )
    true = torch.tensor([[c[2], c[3]] for c in CASES], dtype=torch.float64)
    assert torch.allclose(fit.params[:, 0], true[:, 0], rtol=1e-3)
    assert torch.allclose(fit.params[:, 1], true[:, 1], atol=1e-3)
    assert torch.allclose(fit.y0[:, 1], observed[:, 0, 1], atol=1e-3)  # ω0 never observed
    assert float(fit.cost.max()) < 1e-4


def test_no_data_returns_the_prior_mean_and_fixed_stays_fixed(observed):
    mu, tau = [np.log(5.0), np.log(0.2)], [0.3, 1.0]
    fit = shooting_fit(PEND, observed, torch.zeros(2), DT, starts=[[3.0, 0.1]], prior=(mu, tau))
    assert torch.allclose(fit.params, torch.tensor([5.0, 0.2], dtype=torch.float64).expand(4, 2), rtol=1e-6)
    held = shooting_fit(
        PEND, observed, torch.tensor([1.0, 0.0]), DT, starts=[[3.0, 0.1]], fixed={"damping": 0.7}
    )
    assert torch.all(held.params[:, 1] == 0.7)
    undamped = shooting_fit(
        PEND,
        observed[:1],
        torch.tensor([1.0, 0.0]),
        DT,
        starts=[[3.0, 0.1]],
        fixed={"damping": 0.0},
        iterations=40,
        substeps=4,
    )
    assert float(undamped.params[0, 0]) == pytest.approx(CASES[0][2], rel=1e-3)  # case 0 is undamped


def test_prior_shrinks_an_uninformative_sequence():
    """A pendulum at rest at the bottom says nothing about its frequency: the fit stays at the prior's mean."""
    rest = torch.zeros(1, FRAMES, 2, dtype=torch.float64)
    fit = shooting_fit(
        PEND,
        rest,
        torch.tensor([1.0, 0.0]),
        DT,
        starts=[[3.0, 0.1]],
        noise=0.02,
        prior=([np.log(5.0), np.log(0.1)], [0.3, 1.0]),
        fixed={"damping": 0.1},
    )
    assert float(fit.params[0, 0]) == pytest.approx(5.0, rel=1e-3)


def test_bad_input_is_named(observed):
    with pytest.raises(ConfigError, match="columns"):
        shooting_fit(PEND, observed[..., :1], torch.ones(1), DT, starts=[[3.0, 0.1]])
    with pytest.raises(ConfigError, match="length 2"):
        shooting_fit(PEND, observed, torch.ones(2), DT, starts=[[3.0]])
    with pytest.raises(ConfigError, match="> 0"):
        shooting_fit(PEND, observed, torch.ones(2), DT, starts=[[-3.0, 0.1]])
    with pytest.raises(ConfigError, match="'mass', not a parameter"):
        shooting_fit(PEND, observed, torch.ones(2), DT, starts=[[3.0, 0.1]], fixed={"mass": 1.0})


def test_standard_errors_match_the_spread_of_fits_to_noisy_copies(observed):
    """400 copies of one swing with angle noise σ = 0.02 rad, each fitted by least squares: the reported
    standard error of log(g/l) (residuals' own scale, no prior) matches the spread of the fitted values to 15 %,
    and a held parameter has none (NaN); without asking, no standard errors are computed (None)."""
    torch.manual_seed(0)
    copies = observed[1:2].expand(400, -1, -1).clone()
    copies[..., 0] += 0.02 * torch.randn(400, FRAMES, dtype=torch.float64)
    fit = shooting_fit(
        PEND,
        copies,
        torch.tensor([1.0, 0.0]),
        DT,
        starts=[[CASES[1][2], 0.1]],
        fixed={"damping": CASES[1][3]},
        iterations=20,
        substeps=4,
        standard_errors=True,
    )
    spread = fit.params[:, 0].log().std()
    assert fit.w_std[:, 0].median() == pytest.approx(float(spread), rel=0.15)
    assert fit.w_std[:, 1].isnan().all()
    plain = shooting_fit(
        PEND, copies[:2], torch.tensor([1.0, 0.0]), DT, starts=[[CASES[1][2], 0.1]], iterations=2
    )
    assert plain.w_std is None
