"""MP4 video (ffmpeg, the `video` extra) imported as a user's camera or renderer writes it: frames back within the
codec's loss, one sequence per file, the playback rate named where --dt is not given."""

import numpy as np
import pytest

import simulators as S
from physvae.importer import import_video

iio = pytest.importorskip("imageio.v3")
pytest.importorskip("imageio_ffmpeg")  # installed with physvae[dev] and physvae[video]


def _square(t=20, shift=0) -> np.ndarray:
    """(t, 32, 32, 3) uint8: a white square moving right one pixel a frame on black."""
    frames = np.zeros((t, 32, 32, 3), np.uint8)
    for i in range(t):
        frames[i, 10:18, 2 + i + shift : 10 + i + shift] = 255
    return frames


def test_a_folder_of_mp4_files_imports_as_sequences_within_the_codecs_loss(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    originals = [_square(shift=k) for k in range(3)]
    for k, frames in enumerate(originals):
        iio.imwrite(src / f"clip{k}.mp4", frames, fps=20, codec="libx264", macro_block_size=1)
    with pytest.warns(UserWarning, match=r"the video plays at 0.05 s per frame: pass --dt 0.05"):
        out = import_video(src, tmp_path / "d", test_fraction=0.34, size=32)
    data = S.load_dataset(out)
    assert data.meta["n_frames"] == 20 and len(data["train"]) + len(data["test"]) == 3
    got = np.concatenate([np.asarray(data["train"].frames), np.asarray(data["test"].frames)]).astype(float)
    want = np.stack(originals).astype(float)
    if got.shape[-1] == 1:  # the codec's grey came back with equal channels
        want = want[..., :1]
    assert got.shape == want.shape
    assert np.abs(got.mean(0) - want.mean(0)).mean() < 8  # the codec is lossy: a few grey levels
    moved = [int(np.argmax(np.asarray(got[0, t, 14, :, 0]) > 128)) for t in (0, 10)]
    assert moved[1] - moved[0] == 10  # the square's left edge still moves a pixel a frame
