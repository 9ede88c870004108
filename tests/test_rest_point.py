"""Where the learned dynamics rest, found from the dynamics alone (data without an energy column): exact fixed
points of known maps, the stable one chosen over an unstable one, none where the map has no rest among the data,
and the dynamics section reading the known oscillation there."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from physvae.evaluation.dynamics import Dynamics, describe
from physvae.evaluation.rest_point import RESIDUAL, find_rest_point
from physvae.metrics.probe import probe_targets

from .problems import damped_oscillator_map
from .test_metrics import _ghost_and_oscillator


class _Known(torch.nn.Module):
    """A transition whose one-step mean is a given function of z (B, D): no inputs, no state, no linear maps."""

    input_dim = 0

    def __init__(self, f):
        super().__init__()
        self.f = f

    def init_state(self, batch, device, dtype=torch.float32):
        return None

    def step(self, z, state, dt, u):
        return self.f(z), torch.ones_like(z), state

    def linear_maps(self, z):
        return None


def _affine(A: np.ndarray, z0: np.ndarray):
    """f(z) = z0 + A (z − z0): the fixed point z0, the Jacobian A everywhere."""
    At, c = torch.tensor(A.T, dtype=torch.float32), torch.tensor(z0, dtype=torch.float32)
    return lambda z: c + (z - c) @ At


def test_the_fixed_point_of_an_affine_map_is_found_exactly():
    A, dt, z, _ = _ghost_and_oscillator(5.0)
    z0 = z.mean(0) + 0.5 * z.std(0)  # not the mean latent: Newton has to move
    point = find_rest_point(_affine(A, z0), z)
    np.testing.assert_allclose(point.z, z0, atol=1e-5)
    np.testing.assert_allclose(point.jacobian, A, atol=1e-5)
    assert point.radius == pytest.approx(np.abs(np.linalg.eigvals(A)).max(), rel=1e-5)
    assert point.residual <= RESIDUAL and point.spread == pytest.approx(0.5, abs=1e-4)
    assert point.converged == point.starts == 9  # the mean latent and the 8 slowest


def _pendulum(dt: float = 0.1, gamma: float = 0.5):
    """A damped pendulum's semi-implicit Euler step on (θ, ω): fixed points at the bottom (0, 0), stable, and at
    the top (π, 0), a saddle."""

    def f(z):
        theta, omega = z[:, 0], z[:, 1]
        omega = omega - dt * (10 * torch.sin(theta) + gamma * omega)
        return torch.stack([theta + dt * omega, omega], 1)

    return f


def test_the_stable_fixed_point_is_the_rest_point_where_the_data_come_near_an_unstable_one_too():
    rng = np.random.default_rng(0)
    # swings of every size, the widest turning near the top: both fixed points lie among the data
    theta = rng.uniform(-3.1, 3.1, 4000)
    omega = rng.uniform(-1, 1, 4000) * np.sqrt(2 * 10 * (1 + np.cos(theta)))
    z = np.stack([theta, omega], 1)
    point = find_rest_point(_pendulum(), z)
    np.testing.assert_allclose(point.z, [0, 0], atol=1e-5)
    assert point.radius < 1  # damped at the bottom
    near_top = z[
        z[:, 0] > 2.5
    ]  # data only near the top, on one side: the saddle is the fixed point among them
    top = find_rest_point(_pendulum(), near_top)
    assert top.z[0] == pytest.approx(np.pi, abs=1e-4) and top.radius > 1


def test_a_conserved_coordinate_does_not_stop_newton():
    # the physics transition carries a parameter in its latent unchanged: J has the eigenvalue 1 there and J − I
    # is singular; every point along that coordinate is fixed
    dt, rng = 0.1, np.random.default_rng(2)
    B = np.zeros((4, 4))
    B[0, 0], B[1:3, 1:3], B[3, 3] = 1.0, damped_oscillator_map(3.0, 0.4, dt), 0.5
    P = np.eye(4)
    P[1:, 1:] = rng.normal(size=(3, 3))  # the conserved coordinate stays an axis: J − I exactly singular
    A = P @ B @ np.linalg.inv(P)
    z = rng.normal(size=(600, 4)) @ P.T
    z0 = z.mean(0) + 0.5 * z.std(0)
    point = find_rest_point(_affine(A, z0), z)
    assert point is not None and point.residual <= RESIDUAL
    moved = _affine(A, z0)(torch.tensor(point.z[None], dtype=torch.float32)).numpy()[0] - point.z
    assert np.abs(moved).max() < 1e-4 and point.radius == pytest.approx(1.0, abs=1e-4)


def test_no_rest_point_where_the_map_has_none_among_the_data():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 3))
    drift = torch.tensor([0.1, 0.0, 0.0])
    assert find_rest_point(lambda x: x + drift, z) is None  # a pure drift: no fixed point anywhere
    far = _affine(0.9 * np.eye(3), np.array([10.0, 0.0, 0.0]))  # a fixed point ten standard deviations away
    assert find_rest_point(far, z) is None


def _ctx(z, states, names, kinds, dt, transition, reference=None):
    """What the dynamics section reads of an EvalContext."""
    test = SimpleNamespace(
        dt=dt,
        state_names=names,
        state_kinds=kinds,
        reference=None if reference is None else np.array([list(reference.values())]),
        reference_names=list(reference or {}),
    )
    return SimpleNamespace(
        test=test,
        test_latents=SimpleNamespace(z=z, states=states),
        targets=lambda s: probe_targets(s, names, kinds),
        model=SimpleNamespace(transition=transition),
        device=torch.device("cpu"),
    )


def test_without_an_energy_column_the_dynamics_are_read_at_their_own_rest_point():
    A, dt, z, state = _ghost_and_oscillator(5.0)
    z0 = z.mean(0) + 0.5 * z.std(0)
    ref = {"natural_frequency": 3.0, "damping": 0.4}
    ctx = _ctx(z[None], state[None], ["x", "v"], ["coordinate", "velocity"], dt, _Known(_affine(A, z0)), ref)
    out = Dynamics().run(ctx)
    assert out["at_rest"]["rest"] == "fixed point of the learned dynamics"
    assert out["recovered"]["natural_frequency"]["learned"] == pytest.approx(3.0, rel=1e-4)
    assert out["recovered"]["damping"]["learned"] == pytest.approx(
        0.4, rel=1e-3
    )  # the oscillator, not the ghost
    assert describe(out)[0].startswith(
        "dynamics at rest (fixed point of the learned dynamics): natural frequency 3"
    )
    drift = torch.tensor([0.1, 0.0, 0.0, 0.0])
    out = Dynamics().run(
        _ctx(
            z[None], state[None], ["x", "v"], ["coordinate", "velocity"], dt, _Known(lambda x: x + drift), ref
        )
    )
    assert "at_rest" not in out and "recovered" not in out
    assert out["no_rest_point"].startswith("the data have no energy column and no fixed point")
    # a fixed point where the learned dynamics grow (|λ| 1.05) is no rest: named, not read
    growing = _Known(_affine(1.05 * np.eye(4), z0))
    out = Dynamics().run(_ctx(z[None], state[None], ["x", "v"], ["coordinate", "velocity"], dt, growing, ref))
    assert "at_rest" not in out and out["no_rest_point"].endswith(
        "spectral radius 1.0500 > 1.01: the learned dynamics grow there, they have no rest"
    )
    assert out["unstable_fixed_point"]["spectral_radius"] == pytest.approx(1.05, rel=1e-5)
    np.testing.assert_allclose(out["unstable_fixed_point"]["z"], z0, atol=1e-4)
