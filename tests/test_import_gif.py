"""GIFs written by another program: an encoder's merged identical frames are repeated back, uneven timing warned."""

import warnings

import numpy as np
import pytest
from PIL import Image

import simulators as S
from physvae.import_gif import gif_durations, restore_merged
from physvae.import_read import load_frames
from physvae.importer import import_video


def _seq(t=6, rest=(2, 3)) -> np.ndarray:
    """(t, 16, 16) uint8 grey frames of a moving square; frames in ``rest`` identical (a turning point)."""
    frames = np.zeros((t, 16, 16), np.uint8)
    x = [0, 3, 6, 6, 9, 12, 12, 12][:t] if rest else [0, 2, 4, 6, 8, 10, 12, 13][:t]
    for i, c in enumerate(x):
        frames[i, 4:8, c : c + 3] = 255
    return frames


def _gif(path, frames, durations=50):
    imgs = [Image.fromarray(f) for f in frames]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=durations, loop=0)
    return path


def test_pillow_merges_identical_frames_and_the_reader_repeats_them(tmp_path):
    frames = _seq(8)  # frames 2, 3 identical and 5, 6, 7 identical: Pillow writes 5 frames
    path = _gif(tmp_path / "a.gif", frames)
    assert gif_durations(path).tolist() == [50, 50, 100, 50, 150]  # what the encoder did, read back
    with pytest.warns(
        UserWarning, match=r"^a.gif: 2 frame\(s\) shown for several 50 ms periods.*5 -> 8 frames$"
    ):
        read = load_frames(path)
    assert read.shape[:2] == (1, 8)
    np.testing.assert_array_equal(read[0, ..., 0] if read.ndim == 5 else read[0], frames)


def test_a_folder_of_gifs_gives_one_warning_and_sequences_of_one_length(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    seqs = [_seq(8), _seq(8, rest=()), _seq(8)]
    for i, s in enumerate(seqs):
        _gif(src / f"s{i}.gif", s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = load_frames(src)
    notes = [str(w.message) for w in caught]
    assert len(notes) == 1 and "s0.gif" in notes[0] and "(and 1 more file(s) like it)" in notes[0]
    gray = read if read.ndim == 4 else read[..., 0]
    np.testing.assert_array_equal(gray, np.stack(seqs))


def test_import_of_merged_gifs_keeps_states_paired(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    seqs = np.stack([_seq(8)] * 4)
    for i, s in enumerate(seqs):
        _gif(src / f"s{i}.gif", s)
    states = np.arange(4 * 8 * 1, dtype=float).reshape(4, 8, 1)
    with pytest.warns(UserWarning, match="repeated"):
        data = S.load_dataset(import_video(src, tmp_path / "d", states=states, dt=0.05, test_fraction=0.25))
    assert data["train"].frames.shape[:2] == (3, 8) and data["train"].states.shape == (3, 8, 1)
    assert data["train"].frames.shape[-1] == 1  # a GIF decodes grey frames as RGB; equal channels become grey
    np.testing.assert_array_equal(data["train"].frames[..., 0], seqs[:3])


def test_uneven_durations_are_kept_with_a_warning(tmp_path):
    frames = _seq(3, rest=())
    _, note = restore_merged(frames, np.array([50, 70, 50]), tmp_path / "b.gif")
    assert "b.gif shows its frames for uneven times ([50, 70] ms)" in note and "--times" in note
    kept, _ = restore_merged(frames, np.array([50, 70, 50]), tmp_path / "b.gif")
    np.testing.assert_array_equal(kept, frames)


def test_even_or_missing_durations_change_nothing(tmp_path):
    frames = _seq(4, rest=())
    out, note = restore_merged(frames, np.array([40, 40, 40, 40]), tmp_path / "c.gif")
    assert out is frames and note is None
    out, note = restore_merged(frames, None, tmp_path / "c.gif")
    assert out is frames and note is None
    out, note = restore_merged(frames, np.array([40, 40]), tmp_path / "c.gif")  # a count that does not match
    assert out is frames and note is None
    path = _gif(tmp_path / "d.gif", frames, durations=0)
    assert gif_durations(path) is None


def test_without_dt_the_warning_names_the_gif_playback_period(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    for i in range(3):
        _gif(src / f"s{i}.gif", _seq(6, rest=()), durations=40)
    with pytest.warns(UserWarning) as record:
        data = S.load_dataset(import_video(src, tmp_path / "d", test_fraction=0.34))
    notes = [str(w.message) for w in record if "--dt not given" in str(w.message)]
    assert len(notes) == 1 and "the video plays at 0.04 s per frame: pass --dt 0.04" in notes[0]
    assert data.dt == 1.0  # a player's rate is named, never taken as the physics'


def test_arrays_name_no_playback_period(tmp_path):
    with pytest.warns(UserWarning, match=r"--dt not given: .*--times$"):
        import_video(np.stack([_seq(6, rest=())] * 3), tmp_path / "d", test_fraction=0.34)


def test_a_gif_without_a_single_period_frame_takes_the_folders_period(tmp_path):
    """A bar that rests on each pixel for two frames at every step: every stored frame of that GIF is shown for
    two periods, so its own shortest duration is 2 periods; the folder's other GIFs say the period."""
    src = tmp_path / "videos"
    src.mkdir()
    slow = np.repeat(_seq(4, rest=()), 2, axis=0)  # 8 frames, each shown twice
    _gif(src / "a.gif", _seq(8, rest=()))
    _gif(src / "b.gif", slow)
    assert gif_durations(src / "b.gif").tolist() == [100] * 4
    with pytest.warns(
        UserWarning, match=r"b.gif: 4 frame\(s\) shown for several 50 ms periods.*4 -> 8 frames"
    ):
        read = load_frames(src)
    gray = read if read.ndim == 4 else read[..., 0]
    np.testing.assert_array_equal(gray[1], slow)


def test_a_broken_gif_in_a_folder_is_named(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    _gif(src / "a.gif", _seq(4, rest=()))
    (src / "b.gif").write_bytes(b"GIF89a not really")
    assert gif_durations(src / "b.gif") is None
    with pytest.raises(S.DatasetError, match="cannot read video .*b.gif"):
        import_video(src, tmp_path / "d", dt=0.1)


def test_each_gifs_durations_are_read_once_and_again_when_it_changes(tmp_path, monkeypatch):
    import physvae.import_gif as ig

    src = tmp_path / "videos"
    src.mkdir()
    for i in range(3):
        _gif(src / f"s{i}.gif", _seq(6, rest=()), durations=40)
    opened = []
    real_open = ig.Image.open

    def counting_open(p, *a, **k):  # the durations' reader opens a path; imageio's frame reader a file object
        if isinstance(p, str):
            opened.append(p)
        return real_open(p, *a, **k)

    monkeypatch.setattr(ig.Image, "open", counting_open)
    with pytest.warns(UserWarning, match="--dt not given"):  # the hint reads the durations a third time
        import_video(src, tmp_path / "d", test_fraction=0.34)
    assert sorted(opened) == sorted(str((src / f"s{i}.gif").resolve()) for i in range(3))  # once each
    _gif(src / "s0.gif", _seq(6, rest=()), durations=[40, 40, 40, 40, 40, 80])  # a new version of one file
    np.testing.assert_array_equal(gif_durations(src / "s0.gif"), [40, 40, 40, 40, 40, 80])
    assert gif_durations(src / "missing.gif") is None
