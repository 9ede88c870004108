"""The presets that copy a published setup draw what the original draws (shared/REFERENCE.md), read from pixels."""

import math
from dataclasses import replace

import numpy as np
import pytest

import simulators as S
from simulators.generate import make_chunk

DM_SCALE = 32 / 2.8  # pixels per unit on the DM suite's ±1.4 canvas at 32×32


def _frames(name, n=1, n_frames=2, **params):
    """Frames and states of the first n sequences of a preset's test split, with its params overridden."""
    cfg = S.preset(name, n_frames=n_frames, splits={"test": n})
    cfg.params = replace(cfg.params, **params)
    chunk = make_chunk(cfg, "test", 0, n)
    return chunk["frames"].astype(float), chunk["states"], chunk["params"]


def _bob(frame: np.ndarray):
    """Coverage-weighted centre (row, column) and radius (px) of the one object on the DM grey: (H, W, 3)."""
    bg = np.rint(255 * np.asarray(S.DM_GREY))  # as stored in 8 bits
    cover = (frame[..., 0] - bg[0]) / (255 - bg[0])  # the red channel: 255 on a red object
    centres = np.arange(frame.shape[0]) + 0.5
    total = cover.sum()
    return (cover.sum(1) @ centres) / total, (cover.sum(0) @ centres) / total, math.sqrt(total / math.pi)


@pytest.mark.parametrize("name", ["dm_pendulum32", "dm_pendulum_colors32"])
def test_dm_pendulum_bob_hangs_up_in_array_order_with_radius_sqrt_m_over_pi(name):
    """At q = 0 the bob is at the top of the array (row grows with −cos q), at q = π/2 on the right."""
    for q, row, col in [(0.0, 0.4 * DM_SCALE, 16.0), (math.pi / 2, 16.0, 2.4 * DM_SCALE)]:
        frames, _, params = _frames(
            name, mass=(0.5, 0.5), length=(1.0, 1.0), init="uniform", theta0=(q, q), omega0=(0.0, 0.0)
        )
        r_row, r_col, radius = _bob(frames[0, 0])
        assert abs(r_row - row) < 0.05 and abs(r_col - col) < 0.05
        assert abs(radius - math.sqrt(0.5 / math.pi) * DM_SCALE) < 0.05  # 4.56 px, not our 3.3
    if name == "dm_pendulum32":
        centre = frames[0, 0, int(row), int(col)]
        np.testing.assert_array_equal(centre, [255, 0, 0])  # red: hue 0 of their palette


def test_dm_pendulum_colors_draws_their_six_hues_and_mass_sets_the_radius():
    frames, states, params = _frames("dm_pendulum_colors32", n=40, n_frames=1)
    hues = {tuple(int(255 * v) for v in h) for h in S.DM_HUES}
    seen, checked = set(), 0
    for f, s, p in zip(frames[:, 0], states[:, 0], params):
        radius = _bob(f)[2] if f[..., 0].max() == 255 else None
        x, y = s[4], s[5]
        i, j = int((y + 1.4) * DM_SCALE), int((x + 1.4) * DM_SCALE)  # the pixel under the bob's centre
        seen.add(tuple(int(v) for v in f[i, j]))
        inside = max(abs(x), abs(y)) + math.sqrt(p[0] / math.pi) < 1.4 - 1 / DM_SCALE
        if radius is not None and inside:  # a bob with red in its colour, wholly inside the frame
            assert abs(radius - math.sqrt(p[0] / math.pi) * DM_SCALE) < 0.1
            checked += 1
    assert seen <= hues and len(seen) >= 4 and checked >= 3


def test_dm_pendulum_saves_unwrapped_q_and_p():
    _, states, params = _frames("dm_pendulum32", n=8, n_frames=200)
    names = S.Pendulum(S.preset("dm_pendulum32").params).state_names
    col = {k: states[..., i] for i, k in enumerate(names)}
    m, l = params[:, :1], params[:, 1:2]
    np.testing.assert_allclose(col["p"], m * l**2 * col["omega"], atol=1e-12)
    np.testing.assert_allclose(np.sin(col["q"]), col["sin_theta"], atol=1e-12)
    assert np.abs(np.diff(col["q"], axis=1)).max() < 0.5  # never wraps
    assert np.abs(col["q"]).max() > math.pi  # some sequences go over the top: q keeps counting
    kinds = S.Pendulum(S.preset("dm_pendulum32").params).state_kinds
    assert names[-2:] == ["q", "p"] and kinds[-2:] == ["angle", "velocity"]


def test_dm_mass_spring_moves_vertically_as_a_red_ball_of_radius_sqrt_m_over_pi():
    frames, states, _ = _frames("dm_mass_spring32", n=6, n_frames=10)
    names = S.MassSpring(S.preset("dm_mass_spring32").params).state_names
    q, v, p = (states[..., names.index(k)] for k in ("q", "v", "p"))
    np.testing.assert_allclose(p, 0.5 * v)
    for f, qq in zip(frames.reshape(-1, 32, 32, 3), q.ravel()):
        row, col, radius = _bob(f)
        assert abs(col - 16.0) < 0.05 and abs(row - (qq + 1.4) * DM_SCALE) < 0.05  # row grows with q
        assert abs(radius - math.sqrt(0.5 / math.pi) * DM_SCALE) < 0.05


def test_kvae_faithful_box_walls_at_pixels_2_and_30_and_ball_where_the_state_says():
    frames, states, params = _frames("kvae_box32_faithful", n=6, n_frames=20)
    walls = np.zeros((32, 32), dtype=bool)
    walls[[2, 30], 2:31] = walls[2:31, [2, 30]] = True
    assert (frames[..., 0][:, :, walls] == 255).all()  # in every frame
    assert set(np.unique(frames)) == {0, 255}
    inner = frames[..., 3:30, 3:30, 0] / 255  # inside the walls: the ball alone
    centres = np.arange(3, 30) + 0.5
    mass = inner.sum((-1, -2))
    row, col = (inner.sum(-1) @ centres) / mass, (inner.sum(-2) @ centres) / mass
    x, y = states[..., 0], states[..., 1]
    away = (np.minimum(x, y) > 4) & (np.maximum(x, y) < 24)  # the ball clear of the walls
    assert away.mean() > 0.3
    np.testing.assert_allclose(col[away], (x + 2)[away], atol=0.3)
    np.testing.assert_allclose(row[away], (y + 2)[away], atol=0.3)  # row grows with y


def test_kvae_faithful_start_is_normal_about_the_centre_clipped_inside_the_box():
    cfg = S.preset("kvae_box32_faithful")
    assert cfg.params.substeps == 1 and cfg.dt == 0.2 and cfg.params.init_std == 10.0
    sim = S.BouncingBalls(cfg.params)
    traj = sim.simulate([np.random.default_rng(i) for i in range(400)], 2, cfg.dt)
    start = traj.states[:, 0, :2]
    clipped = (start == 3.0) | (start == 25.0)  # radius 3 in a 28-unit box
    assert start.min() >= 3.0 and start.max() <= 25.0
    assert 0.15 < clipped.mean() < 0.4  # P(|N(0, 10²)| > 11) = 0.27 per axis
    assert abs(np.median(start) - 14.0) < 1.0


@pytest.mark.parametrize("name", sorted(S.PRESETS))
def test_every_preset_draws_two_short_sequences(name):
    cfg = S.preset(name, n_frames=3, splits={"train": 2})
    cfg.validate()
    chunk = make_chunk(cfg, "train", 0, 2)
    r, system = cfg.render, cfg.build_system()
    assert chunk["frames"].shape == (2, 3, r.size, r.size, r.channels)
    assert chunk["states"].shape == (2, 3, len(system.state_names)) == (2, 3, len(system.state_kinds))
    assert chunk["frames"].std() > 0
