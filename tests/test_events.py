"""Per-frame parameters (drift, damping switches) and anomaly events, against independent truth."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import simulators as S
from simulators.events import EVENT_NAMES, BallEvents, PendulumEvents
from simulators.generate import trajectory_rngs

# sha256 of every array of each preset (3 train + 2 test sequences, 12 frames), made by the code before the
# drift, switching and event options existed: with them off, the datasets must not change by one byte.
BEFORE = {
    "dvbf_pendulum16": "e9896f765d90e49098943b670daad0a0a0954fe20dd4036b7f05850ef3840d2e",
    "kvae_box32": "db81f7902ad0c8a2a3efaa8b90c059d435ba027217563d1ba5ca04b5aea93476",
    "dm_pendulum32": "4920c5e44ebd2adb34b569331d77b4c46df680fe57c3907567a7b66fafc97aa7",
    "kvae_box32_gravity": "55fc04151616698cb04fd19fff7d85b912ffae38420362a81be7c045610399cc",
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_default_configs_give_the_same_bytes_as_before(name, tmp_path):
    cfg = S.preset(name, splits={"train": 3, "test": 2}, n_frames=12)
    ds = S.load_dataset(S.generate(cfg, tmp_path / "d"))
    h = hashlib.sha256()
    for split in ds.split_names:
        for a in ("frames", "states", "params", "inputs", "reference"):
            v = getattr(ds[split], a)
            if v is not None:
                h.update(np.ascontiguousarray(v).tobytes())
    assert h.hexdigest() == BEFORE[name]
    assert "event_names" not in ds.meta and ds["train"].events is None


def _pendulum(n_frames=40, **kw) -> S.Pendulum:
    """Undamped, no torque, m = 1, l = 1, g = 9.81: energy is conserved between events."""
    return S.Pendulum(S.PendulumConfig(theta0=(-1.0, 1.0), omega0=(-1.0, 1.0), max_step=0.005, **kw))


def _simulate(system, n=16, n_frames=40, dt=0.05):
    return system.simulate(trajectory_rngs(3, "train", 0, n), n_frames, dt)


def _exact(theta0, omega0, t, g=9.81, l=1.0, gamma=0.0):
    """θ(t) from solve_ivp at tight tolerance (the independent truth)."""
    sol = solve_ivp(
        lambda _, y: [y[1], -g / l * math.sin(y[0]) - gamma * y[1]],
        (0, t[-1]),
        [theta0, omega0],
        t_eval=t,
        rtol=1e-10,
        atol=1e-10,
    )
    return sol.y


def test_a_kick_changes_only_the_velocity_at_its_frame_and_the_energy_by_its_square():
    plain = _simulate(_pendulum())
    ev = PendulumEvents(share=1.0, kinds=["kick"], kick=(3.0, 5.0))
    kicked = _simulate(_pendulum(events=ev))
    k = kicked.events.frame
    assert ((k >= ev.first_frame) & (k <= 38)).all()
    for i in range(len(k)):
        a, b = plain.states[i], kicked.states[i]
        np.testing.assert_array_equal(a[: k[i]], b[: k[i]])  # identical before the kick
        assert a[k[i], 0] == b[k[i], 0]  # same angle at the kick
        dw = b[k[i], 1] - a[k[i], 1]
        assert 3.0 <= abs(dw) <= 5.0
        w = a[k[i], 1]
        jump = 0.5 * ((w + dw) ** 2 - w**2)  # ½ m l² ((ω + Δω)² − ω²), m = l = 1
        np.testing.assert_allclose(b[k[i], 6] - a[k[i] - 1, 6], jump, atol=1e-7)
        # between events the energy is conserved: constant before and after the kick
        np.testing.assert_allclose(b[: k[i], 6], b[0, 6], atol=1e-7)
        np.testing.assert_allclose(b[k[i] :, 6], b[k[i], 6], atol=1e-7)
        assert (
            kicked.events.per_frame[i, k[i] + 1] == EVENT_NAMES.index("kick")
            and kicked.events.per_frame[i].sum() == 1
        )
        # after the kick the motion is the exact solution from the kicked state
        t = np.arange(40 - k[i]) * 0.05
        np.testing.assert_allclose(b[k[i] :, 1], _exact(b[k[i], 0], b[k[i], 1], t)[1], atol=1e-6)


def test_a_teleport_moves_only_the_angle_at_its_frame():
    plain = _simulate(_pendulum())
    tele = _simulate(_pendulum(events=PendulumEvents(share=1.0, kinds=["teleport"])))
    for i, k in enumerate(tele.events.frame):
        a, b = plain.states[i], tele.states[i]
        assert a[k, 1] == b[k, 1]
        step = abs((b[k, 0] - a[k, 0] + math.pi) % (2 * math.pi) - math.pi)  # wrapped Δθ
        assert 1.0 - 1e-9 <= step <= 2.0 + 1e-9
        np.testing.assert_array_equal(a[:k], b[:k])
        assert (
            tele.events.per_frame[i, k] == EVENT_NAMES.index("teleport")
            and tele.events.per_frame[i].sum() == 2
        )


@pytest.mark.parametrize("kind,first", [("gravity", 1), ("length", 0)])
def test_a_parameter_change_multiplies_the_parameter_from_its_frame(kind, first):
    system = _pendulum(events=PendulumEvents(share=1.0, kinds=[kind], factor=(1.5, 2.5)))
    plain, traj = _simulate(_pendulum(), n=8), _simulate(system, n=8)
    assert system.state_names == _pendulum().state_names  # events add no columns
    for i, k in enumerate(traj.events.frame):
        f = traj.events.size[i]
        assert 1.5 <= max(f, 1 / f) <= 2.5 and (kind == "gravity" or f < 1)
        a, b = plain.states[i], traj.states[i]
        np.testing.assert_array_equal(a[:k], b[:k])
        np.testing.assert_array_equal(a[k, :2], b[k, :2])  # the state itself does not jump
        g, l = (9.81 * f, 1.0) if kind == "gravity" else (9.81, f)
        np.testing.assert_allclose(b[k:, 4], l * np.sin(b[k:, 0]), atol=1e-12)  # the drawn bob at the new l
        t = np.arange(40 - k) * 0.05
        np.testing.assert_allclose(b[k:, 1], _exact(b[k, 0], b[k, 1], t, g=g, l=l)[1], atol=1e-6)
        labels = traj.events.per_frame[i]
        assert (labels[: k + first] == 0).all() and (labels[k + first :] == EVENT_NAMES.index(kind)).all()


def test_drifting_gravity_follows_the_stated_path_and_drives_the_motion():
    system = _pendulum(drift="gravity", drift_factor=(0.5, 0.8))
    traj = _simulate(system, n=6, n_frames=30, dt=0.05)
    assert system.state_names[-1] == "g" and system.state_units[-1] == "m/s²"
    g = traj.states[..., -1]
    f = g[:, -1] / g[:, 0]
    assert ((f >= 0.5) & (f <= 0.8)).all()
    np.testing.assert_allclose(g, g[:, :1] * (1 + (f[:, None] - 1) * np.arange(30) / 29))
    for i in range(6):  # exact piecewise-constant g: solve_ivp frame interval by frame interval
        y = traj.states[i, 0, :2]
        for t in range(29):
            y = _exact(y[0], y[1], np.array([0.0, 0.05]), g=g[i, t])[:, -1]
            np.testing.assert_allclose(traj.states[i, t + 1, 1], y[1], atol=1e-6)


def test_damping_switches_at_poisson_times_to_values_in_its_range():
    system = _pendulum(damping=(0.2, 1.0), damping_switch_rate=2.0)
    n, n_frames, dt = 200, 40, 0.05
    traj = _simulate(system, n=n, n_frames=n_frames, dt=dt)
    gamma = traj.states[..., system.state_names.index("gamma")]
    np.testing.assert_array_equal(gamma[:, 0], traj.params[:, 3])
    assert ((gamma >= 0.2) & (gamma <= 1.0)).all()
    switches = (np.diff(gamma, axis=1) != 0).sum()
    expected = n * 2.0 * (n_frames - 1) * dt  # a Poisson process of rate 2/s over 1.95 s, 200 times: 780
    assert abs(switches - expected) < 4 * math.sqrt(expected)  # (two switches in one interval count once)
    i = int(np.argmax((np.diff(gamma, axis=1) != 0).sum(axis=1)))
    y = traj.states[i, 0, :2]
    for t in range(n_frames - 1):  # the motion follows the labelled damping interval by interval
        y = _exact(y[0], y[1], np.array([0.0, dt]), gamma=gamma[i, t])[:, -1]
        np.testing.assert_allclose(traj.states[i, t + 1, :2], y, atol=1e-6)


def test_the_share_and_frames_of_events_follow_the_config():
    system = _pendulum(events=PendulumEvents(share=0.3, first_frame=7))
    traj = _simulate(system, n=500, n_frames=20)
    has = traj.events.frame >= 0
    assert abs(has.mean() - 0.3) < 0.07
    assert traj.events.frame[has].min() == 7 and traj.events.frame[has].max() == 18
    kinds = traj.events.kind[has]
    assert set(kinds) == {1, 2, 3, 4}
    assert (traj.events.per_frame[~has] == 0).all() and (traj.events.size[~has] == 0).all()


@pytest.fixture(scope="module")
def event_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    cfg = S.preset("dvbf_pendulum16", splits={"train": 12, "val": 6})
    plain = S.generate(cfg, root / "plain")
    cfg.params = replace(cfg.params, events=PendulumEvents(share=0.5))
    return plain, S.generate(cfg, root / "events")


def test_labels_round_trip_through_the_files(event_dirs):
    _, path = event_dirs
    ds = S.load_dataset(path)
    assert ds.meta["event_names"] == list(EVENT_NAMES)
    assert ds.meta["event_kinds"] == ["kick", "teleport", "gravity", "length"]
    cfg = ds.config
    system = cfg.build_system()
    for split in ("train", "val"):
        sp = ds[split]
        traj = system.simulate(trajectory_rngs(cfg.seed, split, 0, len(sp)), cfg.n_frames, cfg.dt)
        np.testing.assert_array_equal(sp.events, traj.events.per_frame)
        np.testing.assert_array_equal(sp.event_frame, traj.events.frame)
        np.testing.assert_array_equal(sp.event_size, traj.events.size)
        np.testing.assert_array_equal(sp.event_kind, traj.events.per_frame.max(axis=1))
        assert sp.events.dtype == np.uint8 and sp.event_frame.dtype == np.int64


def test_a_flipped_label_is_caught_by_the_checksum(event_dirs, tmp_path):
    import shutil

    _, path = event_dirs
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    f = copy / "train" / "events.npy"
    data = bytearray(f.read_bytes())
    data[-1] ^= 1
    f.write_bytes(bytes(data))
    with pytest.raises(S.DatasetError, match="events.npy"):
        S.load_dataset(copy)


def test_sequences_without_an_event_are_the_plain_ones(event_dirs):
    plain, events = (S.load_dataset(p) for p in event_dirs)
    a, b = plain["train"], events["train"]
    for i in range(len(a)):
        k = int(b.event_frame[i])
        upto = len(a.frames[i]) if k < 0 else k
        np.testing.assert_array_equal(a.frames[i, :upto], b.frames[i, :upto])
        np.testing.assert_array_equal(a.states[i, :upto], b.states[i, :upto])
    for key in ("state_names", "state_kinds", "frame_shape", "dt", "input_names"):  # what a run checks
        assert plain.meta[key] == events.meta[key]
    assert json.loads((event_dirs[1] / "meta.json").read_text())["splits"]["train"]["arrays"]["events"]


def _balls(**kw) -> S.BouncingBalls:
    return S.BouncingBalls(S.BallsConfig(events=BallEvents(share=1.0, **kw)))


def test_a_ball_kick_changes_only_its_velocity_and_the_energy_by_the_square():
    plain = _simulate(S.BouncingBalls(), n=10, n_frames=20, dt=0.2)
    kicked = _simulate(_balls(kinds=["kick"]), n=10, n_frames=20, dt=0.2)
    for i, k in enumerate(kicked.events.frame):
        a, b = plain.states[i], kicked.states[i]
        np.testing.assert_array_equal(a[:k], b[:k])
        np.testing.assert_array_equal(a[k, :2], b[k, :2])
        dv = b[k, 2:4] - a[k, 2:4]
        assert 10.0 - 1e-9 <= np.hypot(*dv) <= 15.0 + 1e-9
        jump = 0.5 * (np.sum((a[k, 2:4] + dv) ** 2) - np.sum(a[k, 2:4] ** 2))  # m = 1
        np.testing.assert_allclose(b[k, 4] - a[k, 4], jump, rtol=1e-9)
        np.testing.assert_allclose(b[k:, 4], b[k, 4], rtol=1e-6)  # elastic box: conserved after it


def test_a_ball_teleport_moves_only_its_position():
    plain = _simulate(S.BouncingBalls(), n=10, n_frames=20, dt=0.2)
    tele = _simulate(_balls(kinds=["teleport"]), n=10, n_frames=20, dt=0.2)
    for i, k in enumerate(tele.events.frame):
        a, b = plain.states[i], tele.states[i]
        np.testing.assert_array_equal(a[k, 2:4], b[k, 2:4])
        assert 0 < np.hypot(*(b[k, :2] - a[k, :2])) <= 16.0 + 1e-9
        assert (b[k, :2] >= 3.0).all() and (b[k, :2] <= 29.0).all()  # inside the box


def test_a_ball_passes_through_a_wall_where_a_normal_ball_never_goes():
    plain = _simulate(S.BouncingBalls(), n=40, n_frames=30, dt=0.2)
    assert ((plain.states[..., :2] > 1.5) & (plain.states[..., :2] < 30.5)).all()  # half a radius: never
    through = _simulate(_balls(kinds=["pass_through"]), n=40, n_frames=30, dt=0.2)
    happened = through.events.frame >= 0
    assert happened.mean() > 0.5
    for i in np.flatnonzero(happened):
        k, xy = through.events.frame[i], through.states[i, :, :2]
        assert ((xy[k] <= 1.5) | (xy[k] >= 30.5)).any() and ((xy[:k] > 1.5) & (xy[:k] < 30.5)).all()
        overlaps = ((xy > -3.0) & (xy < 35.0)).all(axis=1)  # the disc (radius 3) still overlaps the box
        marked = through.events.per_frame[i] == EVENT_NAMES.index("pass_through")
        assert marked[k] and not marked[:k].any()
        np.testing.assert_array_equal(marked[k:], np.minimum.accumulate(overlaps[k:]))
    assert (through.events.per_frame[~happened] == 0).all()


@pytest.mark.parametrize(
    "system,field,value,match",
    [
        ("pendulum", "drift", "mass", "pendulum.drift must be one of"),
        ("pendulum", "drift_factor", (1.0, 0.5), "pendulum.drift_factor"),
        ("pendulum", "damping_switch_rate", -1.0, "pendulum.damping_switch_rate"),
        ("pendulum", "events", PendulumEvents(share=1.5), r"pendulum.events.share must be a probability"),
        ("pendulum", "events", PendulumEvents(factor=(0.5, 2.0)), "pendulum.events.factor"),
        (
            "balls",
            "events",
            BallEvents(share=0.5, kinds=["gravity"]),
            "balls.events.kinds: unknown event kind",
        ),
        ("balls", "events", BallEvents(first_frame=0), "balls.events.first_frame"),
    ],
)
def test_bad_options_name_the_field(system, field, value, match):
    cls = S.system_class(system)
    with pytest.raises(S.ConfigError, match=match):
        cls(replace(cls.config_class(), **{field: value}))


def test_an_event_window_longer_than_the_sequence_is_refused():
    with pytest.raises(S.ConfigError, match="pendulum.events.first_frame=5 leaves no frame"):
        _simulate(_pendulum(events=PendulumEvents(share=0.5)), n_frames=6)


def test_events_round_trip_through_the_config_dict():
    cfg = S.preset("kvae_box32")
    cfg.params = replace(cfg.params, events=BallEvents(share=0.25, kinds=["kick"]))
    back = S.DatasetConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and isinstance(back.params.events, BallEvents)
