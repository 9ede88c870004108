"""One long video cut into clips (--clip): frames, states, times and inputs cut alike, splits by source."""

import numpy as np
import pytest

import simulators as S
from physvae.cli import main
from physvae.importer import import_video


def _long(n=1, t=100):
    """n sequences of t frames whose pixel (0, 0) counts the frame and pixel (0, 1) names the sequence."""
    frames = np.zeros((n, t, 16, 16), np.uint8)
    frames[:, :, 0, 0] = np.arange(t) % 250 + 1
    frames[:, :, 0, 1] = (np.arange(n) + 1)[:, None] * 20
    states = np.stack(np.broadcast_arrays(np.arange(n)[:, None] * 1000.0, np.arange(t)[None] * 1.0), -1)
    return frames, states


def _rows(data, split):
    """(sequence, first frame) of each clip of a split, read back from the states."""
    s = data[split].states
    return [(int(a), int(b)) for a, b in s[:, 0]]


def test_one_long_video_becomes_clips_with_the_last_ones_for_test(tmp_path):
    frames, states = _long()
    times = 0.1 * np.arange(100) ** 1.01  # uneven: kept absolute, cut alike
    inputs = np.arange(100.0)[None, :, None]
    with pytest.warns(UserWarning, match="--clip 30: the last 10 of each sequence's 100 frames fill no clip"):
        out = import_video(frames, tmp_path / "d", states=states, times=times, inputs=inputs, clip=30)
    data = S.load_dataset(out)
    assert data.meta["import"]["clip"] == 30 and data.meta["n_frames"] == 30
    assert _rows(data, "train") == [(0, 0), (0, 30)] and _rows(data, "test") == [(0, 60)]  # the later part
    np.testing.assert_array_equal(data["test"].frames[0, :, 0, 0, 0], np.arange(60, 90) + 1)
    np.testing.assert_allclose(data["test"].times[0], times[60:90])
    np.testing.assert_array_equal(data["train"].inputs[1, :, 0], np.arange(30, 60))


def test_a_seed_shuffles_sources_and_keeps_each_ones_clips_together_in_order(tmp_path):
    frames, states = _long(n=5, t=40)
    params = np.arange(5.0)[:, None]
    data = S.load_dataset(
        import_video(frames, tmp_path / "d", states=states, params=params, clip=10, seed=3, dt=0.1)
    )
    rows = _rows(data, "train") + _rows(data, "test")
    assert len(rows) == 20 and sorted(rows) == [(1000 * i, 10 * j) for i in range(5) for j in range(4)]
    # a source's clips are consecutive and in time order; the test split (4 clips) is one whole source
    sources = [r[0] for r in rows]
    assert all(sources[i : i + 4] == [sources[i]] * 4 for i in range(0, 20, 4))
    assert [r[1] for r in rows] == [0, 10, 20, 30] * 5
    np.testing.assert_array_equal(
        data["train"].params[:, 0], [r[0] / 1000 for r in _rows(data, "train")]
    )  # parameters repeated with their clips


def test_a_state_offset_is_applied_before_cutting(tmp_path):
    frames, states = _long(t=42)
    after_step = states[
        :, 1:
    ]  # row t holds frame t + 1's state, as a simulator saving after each step writes
    data = S.load_dataset(
        import_video(frames[:, :41], tmp_path / "d", states=after_step, state_offset=1, clip=20, dt=0.1)
    )
    # frame 0 has no state and is dropped; frames 1..40 make two clips, each frame with its own state
    np.testing.assert_array_equal(data["train"].frames[0, :, 0, 0, 0], np.arange(1, 21) + 1)
    np.testing.assert_array_equal(data["train"].states[0, :, 1], np.arange(1, 21))


def test_bad_clips_are_named(tmp_path):
    frames, _ = _long(t=20)
    with pytest.raises(S.DatasetError, match="--clip 30 is longer than the sequences' 20 frames"):
        import_video(frames, tmp_path / "d", clip=30, dt=0.1)
    with pytest.raises(S.ConfigError, match="--clip must be a whole number of frames ≥ 2, got 1"):
        import_video(frames, tmp_path / "d", clip=1, dt=0.1)
    np.save(tmp_path / "f.npy", frames)
    assert (
        main(["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "e"), "--clip", "5", "--dt", "1"])
        == 0
    )
    assert S.load_dataset(tmp_path / "e").meta["n_frames"] == 5


def test_a_separate_test_source_is_cut_into_clips_too(tmp_path):
    from physvae.importer import Source

    frames, states = _long(n=1, t=90)
    test_frames, test_states = _long(n=2, t=60)
    test_states[..., 0] += 5000  # the test source's rows: 5000 and 6000
    out = import_video(
        frames,
        tmp_path / "d",
        states=states,
        test=Source(test_frames, states=test_states),
        clip=30,
        dt=0.1,
    )
    data = S.load_dataset(out)
    assert _rows(data, "train") == [(0, 0), (0, 30), (0, 60)]  # the main source: every clip for training
    assert _rows(data, "test") == [(5000, 0), (5000, 30), (6000, 0), (6000, 30)]  # the test source, cut alike
    np.testing.assert_array_equal(data["test"].frames[3, :, 0, 0, 0], np.arange(30, 60) + 1)
