"""Reading a user's files for ``physvae import``: arrays (.npy, .npz), image folders and videos.

Every failure is a DatasetError naming the file (and the option that gave it); nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import gc
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np

from simulators import DatasetError

from .import_gif import gif_durations, restore_merged, shortest_duration, warn_notes

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"}
# what np.load raises on a truncated, corrupted or pickled file
_LOAD_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile)


def read_array(path, what: str, key: str | None = None, required: bool = True) -> np.ndarray | None:
    """The array in a .npy file, or the one named ``key`` (default: ``what``) in a .npz file.

    Args:
        path: the file.
        what: which data it holds ("frames", "states", "params", "times", "inputs"); names the file in errors, is the
            default .npz key, and ``--<what>-key`` is the option that picks another.
        key: the .npz array to read (a .npy's single array is read whatever the key).
        required: without it, a .npz lacking the key gives None instead of an error.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} file {path} does not exist")
    loaded = _guarded(lambda: np.load(path, allow_pickle=False), path, what)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded  # a .npy holds one array: no key to pick
    with loaded:
        name = key or what
        if name in loaded.files:
            return _guarded(lambda: loaded[name], path, what)
        if not required:
            return None
        pick = (
            f"pick one with --{what}-key NAME"
            if what in ("frames", "states", "times", "inputs")
            else f"save it as {name!r} or as a .npy of its own"
        )
        raise DatasetError(
            f"{what} file {path} holds no array named {name!r} (it has {sorted(loaded.files)}); {pick}"
        )


def _guarded(read: Callable[[], Any], path: Path, what: str):
    """``read()`` (np.load, or an .npz member), its failures as a DatasetError naming the file."""
    try:
        return read()
    except _LOAD_ERRORS as e:
        if "Object arrays" in str(e):
            why = "it holds an object array (pickled Python objects, e.g. ragged sequences); save a numeric array"
        elif "pickled" in str(e):
            why = "it is not a .npy/.npz file (pickled data or another format, which is never unpickled)"
        else:
            why = f"truncated or corrupted: {e}"
        raise DatasetError(f"{what} file {path}: {why}") from e


def natural_key(path: Path) -> tuple[list, str]:
    """Sort key ordering names as a person counts: frame_2 before frame_10, seq9 before seq10 (a renderer that
    does not pad its numbers would otherwise have its frames, and its sequences' pairing with the states' rows,
    shuffled); zero-padded names keep their order."""
    # text and numbers alternate, so equal positions compare alike; the name breaks ties
    parts = [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]
    return parts, path.name


def _read_image(path: Path) -> np.ndarray:
    try:
        return np.asarray(iio.imread(path))
    except Exception as e:  # Pillow and imageio raise format-specific errors (SyntaxError for a broken PNG)
        raise DatasetError(f"cannot read image {path}: {e}") from e


def _describe(shape: tuple) -> str:
    """(H, W[, C]) -> '16×16 grey' / '16×16 RGB'."""
    channels = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}
    c = shape[2] if len(shape) == 3 else 1
    return f"{shape[0]}×{shape[1]} {channels.get(c, f'{c}-channel')}"


def read_image_folders(folders: list[Path]) -> np.ndarray:
    """One sequence per folder of image files -> (N, T, H, W[, C]); every image of one size and channel count."""
    seqs, first = [], None
    for d in folders:
        files = sorted((f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
        if not files:
            raise DatasetError(f"sequence folder {d} holds no image files ({sorted(IMAGE_SUFFIXES)})")
        images = []
        for f in files:
            img = _read_image(f)
            first = first or (f, img.shape)
            if img.shape != first[1]:
                raise DatasetError(
                    f"image {f} is {_describe(img.shape)} but {first[0]} is {_describe(first[1])}: every frame "
                    "must have the same size and channels"
                )
            images.append(img)
        seqs.append(np.stack(images))
    return stack_sequences(seqs, [d.name for d in folders])


def read_video(path: Path, period: int | None = None) -> tuple[np.ndarray, str | None]:
    """A video file -> frames (T, H, W[, C]), a GIF's merged identical frames repeated (``period``: its frame
    period in ms, default its shortest duration), and that repair's note (``import_gif``; None for other
    videos)."""
    try:
        if path.suffix.lower() == ".gif":
            frames = np.asarray(iio.imread(path))
            return restore_merged(frames, gif_durations(path), path, period)
        with _ffmpeg_pipes():
            return np.asarray(iio.imread(path)), None
    except Exception as e:  # imageio raises plugin-specific errors
        raise DatasetError(
            f"cannot read video {path}: {e} (for MP4 and other codecs: pip install 'physvae[video]', which "
            "brings imageio-ffmpeg)"
        ) from e


@contextlib.contextmanager
def _ffmpeg_pipes():
    """Read a video through ffmpeg without its ResourceWarning: imageio-ffmpeg leaves a pipe of the ffmpeg process
    to the garbage collector; it is collected here, inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def stack_sequences(seqs: list[np.ndarray], names: list[str]) -> np.ndarray:
    """Sequences (T, H, W[, C]) of one shape -> (N, T, H, W[, C]); a ragged one is named."""
    for name, s in zip(names, seqs):
        if s.shape != seqs[0].shape:
            raise DatasetError(
                f"ragged sequences: {names[0]} has frames {seqs[0].shape}, {name} has {s.shape}"
            )
    return np.stack(seqs)


def load_frames(source, key: str | None = None) -> np.ndarray:
    """Frames from an array, a .npy/.npz file, a folder of image folders, or video file(s): (N, T, H, W[, C]).

    Args:
        source: the array or where to read it.
        key: the .npz array holding the frames (default "frames").
    """
    if not isinstance(source, (str, Path)):
        return source
    path = Path(source)
    if not path.exists():
        raise DatasetError(f"frames source {path} does not exist")
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        frames, note = read_video(path)
        warn_notes([note] if note else [])
        return frames[None]
    if path.is_file() and path.suffix.lower() in (".npy", ".npz"):
        return read_array(path, "frames", key)
    if path.is_dir():
        subdirs = sorted((p for p in path.iterdir() if p.is_dir()), key=natural_key)
        if subdirs:
            return read_image_folders(subdirs)
        videos = sorted((f for f in path.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES), key=natural_key)
        if videos:
            gifs = [gif_durations(v) for v in videos if v.suffix.lower() == ".gif"]  # each file read once
            period = shortest_duration(gifs)  # one renderer, one frame period
            read = [read_video(v, period) for v in videos]
            warn_notes([note for _, note in read if note], path)
            return stack_sequences([f for f, _ in read], [v.name for v in videos])
    raise DatasetError(
        f"{path}: expected a .npy/.npz file, a video file, or a folder of image folders or videos"
    )


def playback_period(source) -> float | None:
    """Seconds per frame a video source says it plays at (GIFs: the shortest frame duration of them all;
    another video: 1 / fps, a folder's first), or None for arrays, images and videos that do not say."""
    if not isinstance(source, (str, Path)):
        return None
    path = Path(source)
    videos = [path]
    if path.is_dir():
        videos = sorted((f for f in path.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES), key=natural_key)
    videos = [v for v in videos if v.is_file() and v.suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        return None
    try:
        if any(v.suffix.lower() == ".gif" for v in videos):
            ms = shortest_duration([gif_durations(v) for v in videos if v.suffix.lower() == ".gif"])
            return None if ms is None else ms / 1000
        with _ffmpeg_pipes():
            fps = iio.immeta(videos[0]).get("fps")
    except Exception:  # the frames were read already; a player's metadata is only a hint
        return None
    return 1.0 / float(fps) if fps else None
