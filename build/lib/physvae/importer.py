"""Turn a user's own video into a dataset folder that trains and evaluates like a simulated one.

Sources: a NumPy array (or .npy / .npz file) of frames (N, T, H, W[, C]); a folder holding one sub-folder of image
files per sequence; or a video file (one sequence), or a folder of video files (one sequence each). True states
are optional; without them the physics metrics are skipped with a note. The data can declare its physics as a
generated dataset does: each state column's kind (``simulators.STATE_KINDS``; default: a plain coordinate, probed
as it is) and units, and per-sequence parameters with names.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from simulators import ConfigError, DatasetError, check_kinds, write_dataset

from .nets import SIZES

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif"}


def _stack(seqs: list[np.ndarray], names: list[str]) -> np.ndarray:
    shapes = {s.shape for s in seqs}
    if len(shapes) > 1:
        first = seqs[0].shape
        bad = next(n for n, s in zip(names, seqs) if s.shape != first)
        raise DatasetError(
            f"ragged sequences: {names[0]} has frames {first}, {bad} has {next(s.shape for n, s in zip(names, seqs) if n == bad)}"
        )
    return np.stack(seqs)


def _read_video(path: Path) -> np.ndarray:
    try:
        return np.asarray(iio.imread(path))
    except Exception as e:  # imageio raises plugin-specific errors
        raise DatasetError(
            f"cannot read video {path}: {e} (for MP4 and other codecs: pip install imageio-ffmpeg)"
        ) from e


def load_frames(source) -> np.ndarray:
    """Frames from an array, a .npy/.npz file, a folder of image folders, or video file(s): (N, T, H, W[, C])."""
    if isinstance(source, np.ndarray):
        return source
    path = Path(source)
    if not path.exists():
        raise DatasetError(f"frames source {path} does not exist")
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".npz":
        with np.load(path) as z:
            if "frames" not in z:
                raise DatasetError(f"{path} holds no array named 'frames' (it has {sorted(z)})")
            return z["frames"]
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return _read_video(path)[None]
    if path.is_dir():
        subdirs = sorted(p for p in path.iterdir() if p.is_dir())
        if subdirs:
            seqs = []
            for d in subdirs:
                files = sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
                if not files:
                    raise DatasetError(f"sequence folder {d} holds no image files ({sorted(IMAGE_SUFFIXES)})")
                seqs.append(np.stack([np.asarray(iio.imread(f)) for f in files]))
            return _stack(seqs, [d.name for d in subdirs])
        videos = sorted(f for f in path.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
        if videos:
            return _stack([_read_video(v) for v in videos], [v.name for v in videos])
    raise DatasetError(
        f"{path}: expected a .npy/.npz file, a video file, or a folder of image folders or videos"
    )


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W[, C]) uint8, or floats in [0, 1] -> (N, T, H, W, C) uint8 with C in {1, 3}."""
    if frames.ndim == 4:
        frames = frames[..., None]
    if frames.ndim != 5:
        raise DatasetError(f"frames must have shape (N, T, H, W[, C]), got {frames.shape}")
    if frames.shape[-1] == 4:
        raise DatasetError("frames have 4 channels (RGBA); drop the alpha channel first")
    if frames.shape[-1] not in (1, 3):
        raise DatasetError(f"frames must have 1 or 3 channels, got {frames.shape[-1]} (shape {frames.shape})")
    if frames.dtype == np.uint8:
        return frames
    if np.issubdtype(frames.dtype, np.floating):
        lo, hi = float(np.nanmin(frames)), float(np.nanmax(frames))
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
            raise DatasetError(f"float frames must lie in [0, 1], got values in [{lo}, {hi}]")
        return np.rint(frames * 255).astype(np.uint8)
    raise DatasetError(f"frames must be uint8 or float in [0, 1], got dtype {frames.dtype}")


def resize(frames: np.ndarray, size: int | None) -> np.ndarray:
    """Resize (N, T, H, W, C) uint8 to size × size (default: the nearest supported side), warning when it does."""
    h, w = frames.shape[2:4]
    target = size or min(SIZES, key=lambda s: abs(s - max(h, w)))
    if target not in SIZES:
        raise ConfigError(f"size must be one of {SIZES}, got {target}")
    if (h, w) == (target, target):
        return frames
    warnings.warn(
        f"resizing {h}×{w} frames to {target}×{target} (the encoder supports {SIZES})", stacklevel=3
    )
    n, t, _, _, c = frames.shape
    out = np.empty((n, t, target, target, c), dtype=np.uint8)
    for i in range(n):
        for j in range(t):
            img = Image.fromarray(frames[i, j].squeeze(-1) if c == 1 else frames[i, j])
            out[i, j] = np.asarray(img.resize((target, target), Image.Resampling.BILINEAR)).reshape(
                target, target, c
            )
    return out


def _load_array(value, what: str) -> np.ndarray:
    """An array given as such or as a .npy path, as float64."""
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.is_file():
            raise DatasetError(f"{what} file {path} does not exist")
        value = np.load(path)
    return np.asarray(value, dtype=np.float64)


def _states(states, names, kinds, units, n: int, t: int) -> tuple[np.ndarray, dict]:
    """States (N, T, D) and their meta.json columns; without states, none (the physics metrics are skipped)."""
    if states is None:
        if names or kinds or units:
            raise ConfigError("state names, kinds or units were given without states (--states FILE)")
        return np.zeros((n, t, 0)), {"state_names": [], "state_units": [], "state_kinds": []}
    arr = _load_array(states, "states")
    if arr.ndim != 3 or arr.shape[:2] != (n, t):
        raise DatasetError(
            f"states must have shape (N, T, D) = ({n}, {t}, D) to match the frames, got {arr.shape}"
        )
    d = arr.shape[2]
    names = list(names or [f"s{i}" for i in range(d)])
    if len(names) != d:
        raise DatasetError(f"{len(names)} state names for {d} state columns")
    units = list(units or [""] * d)
    if len(units) != d:
        raise DatasetError(f"{len(units)} state units for {d} state columns")
    kinds = check_kinds(kinds or ["coordinate"] * d, d, "state kinds")
    return arr, {"state_names": names, "state_units": units, "state_kinds": kinds}


def _params(params, names, units, n: int) -> tuple[np.ndarray, dict]:
    """Per-sequence parameters (N, P) and their meta.json columns."""
    if params is None:
        if names or units:
            raise ConfigError("parameter names or units were given without parameters (--params FILE)")
        return np.zeros((n, 0)), {"param_names": [], "param_units": []}
    arr = _load_array(params, "params")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DatasetError(f"params must have shape (N, P) = ({n}, P) to match the frames, got {arr.shape}")
    names = list(names or [f"p{i}" for i in range(arr.shape[1])])
    units = list(units or [""] * arr.shape[1])
    if len(names) != arr.shape[1] or len(units) != arr.shape[1]:
        raise DatasetError(
            f"{len(names)} parameter names and {len(units)} units for {arr.shape[1]} parameters"
        )
    return arr, {"param_names": names, "param_units": units}


def import_video(
    source,
    out,
    *,
    states=None,
    state_names=None,
    state_units=None,
    state_kinds=None,
    params=None,
    param_names=None,
    param_units=None,
    dt: float = 1.0,
    size: int | None = None,
    test_fraction: float = 0.2,
    overwrite: bool = False,
) -> Path:
    """Write a dataset folder from a user's frames.

    Args:
        source: frames (N, T, H, W[, C]) or where to read them (see ``load_frames``).
        out: dataset folder to write.
        states: optional true states (N, T, D) (array or .npy path).
        state_names: D names (default: s0, s1, ...); state_units: D units (default: "").
        state_kinds: D kinds of ``simulators.STATE_KINDS`` (default: "coordinate": probed as it is); an "angle"
            is probed through its sin and cos.
        params: optional per-sequence parameters (N, P) (array or .npy path); param_names / param_units: P each.
        dt: time between frames.
        size: frame side to resize to (default: the nearest of 16, 32, 64).
        test_fraction: share of sequences (the last ones) put in the test split.
    """
    frames = resize(to_uint8(load_frames(source)), size)
    n, t = frames.shape[:2]
    states_arr, state_meta = _states(states, state_names, state_kinds, state_units, n, t)
    params_arr, param_meta = _params(params, param_names, param_units, n)
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if not dt > 0:
        raise ConfigError(f"dt must be > 0, got {dt}")
    n_test = max(1, int(round(n * test_fraction)))
    if n - n_test < 1:
        raise DatasetError(f"{n} sequence(s) cannot make both a train and a test split")
    split = {"train": slice(0, n - n_test), "test": slice(n - n_test, n)}
    arrays = {
        k: {"frames": frames[s], "states": states_arr[s], "params": params_arr[s]} for k, s in split.items()
    }
    meta = {
        "system": "imported",
        "config": None,
        "seed": 0,
        "dt": float(dt),
        "n_frames": t,
        "frame_shape": list(frames.shape[2:]),
        "binarized": bool(np.isin(frames, (0, 255)).all()),
        **state_meta,
        **param_meta,
        "reference_names": [],
        "reference_units": [],
        "input_names": [],
        "source": str(source) if not isinstance(source, np.ndarray) else "array",
    }
    return write_dataset(out, arrays, meta, overwrite=overwrite)
