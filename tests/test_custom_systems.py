from dataclasses import dataclass

import numpy as np
import pytest

import simulators as S
from simulators import MassSpring, MassSpringConfig, ODESystem, Scene, register_system


def _traj(system, n=8, n_frames=200, dt=0.05):
    return system.simulate([np.random.default_rng(i) for i in range(n)], n_frames, dt)


def test_mass_spring_matches_the_exact_solution():
    traj = _traj(MassSpring(MassSpringConfig(k=(1.0, 3.0), mass=(0.5, 2.0))))
    q0, v0 = traj.states[:, 0, 0], traj.states[:, 0, 1]
    w = np.sqrt(traj.params[:, 0] / traj.params[:, 1])
    t = np.arange(200) * 0.05
    exact = q0[:, None] * np.cos(w[:, None] * t) + (v0 / w)[:, None] * np.sin(w[:, None] * t)
    np.testing.assert_allclose(traj.states[..., 0], exact, atol=1e-8)
    e = traj.states[..., -1]
    np.testing.assert_allclose(e, e[:, :1] * np.ones_like(e), rtol=1e-8)


def test_double_pendulum_conserves_energy_and_keeps_its_rods():
    traj = _traj(S.DoublePendulum(), n_frames=400, dt=0.02)
    e = traj.states[..., -1]
    np.testing.assert_allclose(e, e[:, :1] * np.ones_like(e), atol=1e-6 * np.abs(e).max())
    x1, y1, x2, y2 = (traj.states[..., i] for i in range(4, 8))
    np.testing.assert_allclose(np.hypot(x1, y1), traj.params[:, 2:3] * np.ones_like(x1), atol=1e-12)
    np.testing.assert_allclose(np.hypot(x2 - x1, y2 - y1), traj.params[:, 3:4] * np.ones_like(x1), atol=1e-12)


@pytest.mark.parametrize("preset", ["dm_mass_spring32", "dm_double_pendulum32"])
def test_new_systems_get_presets_files_and_determinism(preset, tmp_path):
    cfg = S.preset(preset, splits={"train": 5, "test": 3}, n_frames=10, ood=True)
    a = S.generate(cfg, tmp_path / "a", jobs=1)
    b = S.generate(cfg, tmp_path / "b", jobs=2)
    assert (a / "train" / "frames.npy").read_bytes() == (b / "train" / "frames.npy").read_bytes()
    split = S.load_dataset(a)["test_ood"]
    assert split.frames.shape == (3, 10, 32, 32, 3) and split.states.shape[-1] == len(split.state_names)


@dataclass
class _SpringConfig:
    k: tuple[float, float] = (4.0, 4.0)


class _Spring(ODESystem):
    """The ~30-line example of the ODESystem docstring, defined in a test."""

    name, config_class = "test_spring", _SpringConfig
    state_names, state_units, param_names = ["q", "v"], ["m", "m/s"], ["k"]

    def sample(self, rng):
        return np.array([rng.uniform(*self.config.k)]), rng.uniform(-1, 1, size=2)

    def rhs(self, y, params):
        return np.stack([y[:, 1], -params[:, 0] * y[:, 0]], axis=1)

    def draw(self, states, params):
        xy = np.stack([states[..., 0], 0 * states[..., 0]], -1)[:, :, None]
        return Scene(discs=xy, radii=np.full((len(states), 1), 0.2), extent=(-1.5, 1.5, -1.5, 1.5))


def test_a_user_defined_system_registers_and_generates(tmp_path):
    register_system(_Spring)
    try:
        cfg = S.DatasetConfig(system="test_spring", n_frames=30, dt=0.1, splits={"train": 4})
        data = S.load_dataset(S.generate(cfg, tmp_path / "d"))
        q, v = data["train"].states[..., 0], data["train"].states[..., 1]
        t = np.arange(30) * 0.1
        exact = q[:, :1] * np.cos(2 * t) + v[:, :1] / 2 * np.sin(2 * t)  # √k = 2
        assert data["train"].frames.shape == (4, 30, 32, 32, 1)
        np.testing.assert_allclose(q, exact, atol=1e-7)
    finally:
        S.SYSTEMS.pop("test_spring")
