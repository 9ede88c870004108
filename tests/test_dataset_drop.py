"""Frames dropped at random with their times kept, as dropped-frame video imports: what is kept is the source at
the kept frames, the held inputs keep each interval's impulse, and the suite runs only continuous-time models on
such data."""

from dataclasses import replace

import numpy as np
import pytest

import simulators as S
from physvae.bench import load_suite
from physvae.bench.runner import imported
from physvae.bench.suite import DatasetEntry, ModelEntry
from physvae.dataset_drop import drop_frames, held_inputs, kept_count, kept_frames
from physvae.importer import import_video


def test_kept_frames_start_at_the_first_and_are_distinct_and_sorted():
    idx = kept_frames(50, 15, 12, np.random.default_rng(0))
    assert idx.shape == (50, 12) and (idx[:, 0] == 0).all()
    assert (np.diff(idx, axis=1) > 0).all() and idx.max() <= 14
    assert len({tuple(r) for r in idx}) > 1  # not the same choice for every sequence
    assert kept_count(15, 0.2) == 12 and kept_count(50, 0.2) == 40 and kept_count(3, 0.99) == 2


def test_held_inputs_are_the_mean_over_each_interval_and_keep_its_impulse():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(4, 15, 2))
    idx = kept_frames(4, 15, 9, rng)
    held = held_inputs(u, idx)
    for i in range(4):
        ends = list(idx[i, 1:]) + [idx[i, -1] + 1]
        for k, (a, b) in enumerate(zip(idx[i], ends)):
            np.testing.assert_allclose(held[i, k], u[i, a:b].mean(0))
        lengths = np.diff(np.append(idx[i], idx[i, -1] + 1))
        np.testing.assert_allclose((held[i] * lengths[:, None]).sum(0), u[i, : idx[i, -1] + 1].sum(0))


def test_a_dropped_dataset_holds_the_source_at_its_kept_frames(pend16, tmp_path):
    src = S.load_dataset(pend16)
    out = S.load_dataset(drop_frames(pend16, tmp_path / "d", 0.2, seed=3))
    assert out.irregular_times and out.meta["n_frames"] == 12 and out.meta["dropped_from"]["n_frames"] == 15
    assert out.split_names == src.split_names
    for name in src.split_names:
        a, b = src[name], out[name]
        idx = np.rint(b.times / src.dt).astype(int)  # the kept frame numbers, read back from the times
        np.testing.assert_allclose(b.times, idx * src.dt)
        assert (idx[:, 0] == 0).all() and b.frames.shape[1] == 12
        rows = np.arange(len(idx))[:, None]
        np.testing.assert_array_equal(b.frames, a.frames[rows, idx])
        np.testing.assert_array_equal(b.states, a.states[rows, idx])
        np.testing.assert_array_equal(b.params, a.params)
        np.testing.assert_allclose(b.inputs, held_inputs(np.asarray(a.inputs), idx))
    again = S.load_dataset(drop_frames(pend16, tmp_path / "e", 0.2, seed=3))
    np.testing.assert_array_equal(again["train"].times, out["train"].times)  # seeded


def test_bad_shares_and_sources_are_refused(pend16, tmp_path):
    for share in (0, 1, -0.1):
        with pytest.raises(S.ConfigError, match=r"share of dropped frames must be in \(0, 1\)"):
            drop_frames(pend16, tmp_path / "x", share)
    once = drop_frames(pend16, tmp_path / "once", 0.2)
    with pytest.raises(S.ConfigError, match="already has uneven frame times"):
        drop_frames(once, tmp_path / "twice", 0.2)
    cfg = S.preset("dvbf_pendulum16", splits={"train": 4, "test": 4})
    cfg.params = replace(cfg.params, events=S.PendulumEvents(share=0.5))
    events = S.generate(cfg, tmp_path / "ev")
    with pytest.raises(S.ConfigError, match="carries event labels"):
        drop_frames(events, tmp_path / "y", 0.2)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_importing_the_kept_frames_with_their_times_gives_the_same_dataset(pend16, tmp_path):
    dropped = S.load_dataset(drop_frames(pend16, tmp_path / "d", 0.3))
    tr = dropped["train"]
    again = S.load_dataset(import_video(tr.frames, tmp_path / "i", states=tr.states, inputs=tr.inputs,
                                        times=tr.times, test_fraction=0.25))  # fmt: skip
    assert again.irregular_times and again.dt == pytest.approx(np.median(np.diff(tr.times, axis=1)))
    np.testing.assert_array_equal(np.concatenate([again[s].inputs for s in again.split_names]), tr.inputs)


def test_only_continuous_time_models_run_on_dropped_frames_and_the_runner_makes_them_once(pend16, tmp_path):
    entry = DatasetEntry("p_dropped", "dvbf_pendulum16", drop_frames=0.2)
    assert not ModelEntry("LL", "locally_linear").runs_on(entry)
    assert ModelEntry("ODE", "neural_ode").runs_on(entry) and ModelEntry("H", "hamiltonian").runs_on(entry)
    first = imported(pend16, entry)
    assert first.name == f"{pend16.name}-drop0.2" and S.load_dataset(first).irregular_times
    stamp = (first / "meta.json").stat().st_mtime_ns
    assert imported(pend16, entry) == first and (first / "meta.json").stat().st_mtime_ns == stamp


def _suite(tmp_path, drop, n_context=5):
    path = tmp_path / "s.toml"
    path.write_text(
        f"""name = "s"
[[datasets]]
name = "p"
preset = "dvbf_pendulum16"
drop_frames = {drop}
eval = {{n_context = {n_context}}}
[[models]]
name = "ODE"
transition = "neural_ode"
"""
    )
    return path


def test_the_suite_checks_the_share_and_the_kept_frames_against_the_protocol(tmp_path):
    assert load_suite(_suite(tmp_path, 0.2)).datasets[0].drop_frames == 0.2
    with pytest.raises(S.ConfigError, match=r"dataset 'p': drop_frames must be in \[0, 1\).*got 1.2"):
        load_suite(_suite(tmp_path, 1.2))
    with pytest.raises(S.ConfigError, match="dataset 'p' \\(frames\\) has sequences of 2 frames"):
        load_suite(_suite(tmp_path, 0.9))
