import os

import matplotlib.pyplot as plt
import numpy as np
import pytest
from imageio import v3 as iio

from physvae.viz.preview import save_figure, write_gif
from simulators import write_bytes_atomic, write_text_atomic


def _disk_fails(monkeypatch):
    def fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)


def test_text_round_trip_and_no_temporary_left(tmp_path):
    path = write_text_atomic(tmp_path / "sub" / "a.md", "φ̇ R² ≥ 0.9\n")
    assert path.read_text(encoding="utf-8") == "φ̇ R² ≥ 0.9\n"
    assert [p.name for p in path.parent.iterdir()] == ["a.md"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_bytes_atomic(tmp_path / "a.bin", b"old")
    _disk_fails(monkeypatch)
    with pytest.raises(OSError, match="No space"):
        write_bytes_atomic(path, b"new, never complete")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_figures_and_gifs_are_written_atomically(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png = save_figure(fig, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)  # few colours: GIF keeps them exactly
    video = palette[rng.integers(0, 16, (5, 8, 8))]
    gif = write_gif(tmp_path / "v.gif", video, fps=5)
    assert np.array_equal(iio.imread(gif, index=None)[..., :3], video)  # round trip
    before = {p: p.read_bytes() for p in (png, gif)}
    _disk_fails(monkeypatch)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(OSError):
        save_figure(fig, png)
    with pytest.raises(OSError):
        write_gif(gif, video[::-1], fps=5)
    assert {p: p.read_bytes() for p in (png, gif)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "v.gif"]


def test_a_generation_removes_the_partial_folders_of_killed_ones(tmp_path):
    import simulators as S

    dead = 4_194_305  # above Linux's largest pid: no such process
    stale = [tmp_path / f".old.partial-{dead}-ab12cd34", tmp_path / f".x.old-{dead}-00ff00ff"]
    live = tmp_path / f".other.partial-{os.getpid()}-ab12cd34"  # a generation still writing
    for folder in [*stale, live]:
        (folder / "train").mkdir(parents=True)
    (tmp_path / f".meta.json.tmp-{dead}").write_text("{")
    S.generate(S.preset("dvbf_pendulum16", splits={"train": 2}, n_frames=3), tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["new", live.name])
