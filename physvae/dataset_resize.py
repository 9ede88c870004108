"""A dataset folder at another frame size, resampled as ``physvae import --size`` resamples a user's video.

The robustness suite renders a system at a size no model reads (24, 28, 48 px) and brings it to one it does, so
that the import path's resampling (bilinear, from ``import_frames.resize``) is what the model sees; everything but
the frames (states, inputs, parameters, times, event labels) is kept as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import simulators
from simulators import ARRAYS, ConfigError, write_dataset

from .import_frames import is_binary, resize
from .nets import SIZES


def resize_dataset(src: str | Path, out: str | Path, size: int, overwrite: bool = False) -> Path:
    """Write the dataset at ``src`` into ``out`` with every frame resized to size × size.

    Args:
        src: a dataset folder (any frame side).
        out: the folder to write (atomically).
        size: the new side, one of ``nets.SIZES``.
        overwrite: replace an existing ``out``.

    Returns:
        ``out``. Its meta.json says ``resized_from`` (the source side and folder); ``binarized`` is true only if
        the resized frames still hold nothing but 0 and 1 (resampling 0/1 frames makes grey edges).

    Raises:
        ConfigError: a size the models cannot read.
    """
    if size not in SIZES:
        raise ConfigError(f"size must be one of {SIZES}, got {size!r}")
    data = simulators.load_dataset(src)
    splits = {name: _resized_arrays(data[name], size) for name in data.split_names}
    side = data.meta["frame_shape"][0]
    meta = {k: v for k, v in data.meta.items() if k not in ("schema_version", "splits", "meta_sha256")}
    meta.update(
        frame_shape=[size, size, data.meta["frame_shape"][2]],
        binarized=all(is_binary(a["frames"]) for a in splits.values()),
        resized_from={"side": side, "path": str(data.path)},
    )
    return write_dataset(out, splits, meta, overwrite=overwrite)


def _resized_arrays(split: simulators.Split, size: int) -> dict[str, np.ndarray]:
    """The split's arrays, frames (and clean frames) (N, T, S, S, C) -> (N, T, size, size, C) uint8, the others
    unchanged."""
    arrays = {k: np.asarray(getattr(split, k)) for k in ARRAYS if getattr(split, k, None) is not None}
    for k in ("frames", "frames_clean"):
        if k in arrays:
            arrays[k] = resize(arrays[k], size)
    return arrays
