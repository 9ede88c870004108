"""A dataset folder with frames dropped at random, stored with their times, as dropped-frame video imports.

Real cameras drop frames; what a user then has is the kept frames and their time stamps (``physvae import
--times``). The robustness suite makes such data from a simulated set: from each sequence of T frames it keeps the
first frame and K − 1 others chosen at random, stores the kept frames' times (irregular spacing) and, for a
driven system, each kept frame's input as the mean of the inputs over the steps up to the next kept frame (the
constant control with the same impulse over that interval, which a model then holds over it). States go with
their frames; per-sequence arrays (parameters, reference dynamics) are kept as they are; a source with event
labels is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import simulators
from simulators import ARRAYS, ConfigError, write_dataset

PER_FRAME = ("frames", "states", "frames_clean")  # gathered at the kept frames
PER_SEQUENCE = ("params", "reference")  # kept as they are


def kept_count(n_frames: int, share: float) -> int:
    """Frames left of ``n_frames`` when a ``share`` of the frames after the first is dropped (at least 2)."""
    return max(2, n_frames - round(share * (n_frames - 1)))


def drop_frames(
    src: str | Path, out: str | Path, share: float, seed: int = 0, overwrite: bool = False
) -> Path:
    """Write the dataset at ``src`` into ``out`` with a ``share`` of each sequence's frames dropped at random.

    Args:
        src: a dataset folder on an even time grid (no event labels).
        out: the folder to write (atomically).
        share: in (0, 1): the share of frames after the first that are dropped (``kept_count``).
        seed: the random choice of kept frames: split i draws from ``default_rng([seed, i])``, so one split's
            choice does not depend on another's size.
        overwrite: replace an existing ``out``.

    Returns:
        ``out``; its meta.json has ``time_grid`` "irregular", the kept ``n_frames`` and ``dropped_from``.

    Raises:
        ConfigError: a share outside (0, 1), or a source that already has uneven times or carries events.
    """
    if not 0 < share < 1:
        raise ConfigError(f"the share of dropped frames must be in (0, 1), got {share!r}")
    data = simulators.load_dataset(src)
    if data.irregular_times:
        raise ConfigError(f"dataset {data.path} already has uneven frame times; drop frames from an even one")
    if any(data[name].events is not None for name in data.split_names):
        raise ConfigError(
            f"dataset {data.path} carries event labels, whose frame numbers would not survive dropping frames"
        )
    keep = kept_count(data.meta["n_frames"], share)
    splits = {
        name: _dropped(data[name], data.dt, keep, np.random.default_rng([seed, i]))
        for i, name in enumerate(data.split_names)
    }
    meta = {k: v for k, v in data.meta.items() if k not in ("schema_version", "splits", "meta_sha256")}
    meta.update(
        n_frames=keep,
        time_grid="irregular",
        dropped_from={
            "n_frames": data.meta["n_frames"],
            "share": share,
            "seed": seed,
            "path": str(data.path),
        },
    )
    return write_dataset(out, splits, meta, overwrite=overwrite)


def kept_frames(n: int, t: int, keep: int, rng: np.random.Generator) -> np.ndarray:
    """(n, keep) sorted frame indices into sequences of ``t`` frames: 0, then keep − 1 distinct others."""
    rest = np.stack([rng.choice(np.arange(1, t), keep - 1, replace=False) for _ in range(n)])
    return np.sort(np.concatenate([np.zeros((n, 1), dtype=int), rest], axis=1), axis=1)


def held_inputs(inputs: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Inputs (N, T, U), input t acting over step t → the input (N, K, U) of each kept frame idx (N, K): the mean
    over the steps from it to the next kept frame (the last kept frame keeps its own)."""
    t = inputs.shape[1]
    ends = np.concatenate([idx[:, 1:], np.minimum(idx[:, -1:] + 1, t)], axis=1)
    cum = np.concatenate([np.zeros_like(inputs[:, :1]), np.cumsum(inputs, axis=1)], axis=1)  # (N, T+1, U)
    rows = np.arange(len(idx))[:, None]
    return (cum[rows, ends] - cum[rows, idx]) / (ends - idx)[..., None]


def _dropped(
    split: simulators.Split, dt: float, keep: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    arrays = {k: np.asarray(getattr(split, k)) for k in ARRAYS if getattr(split, k, None) is not None}
    unknown = sorted(set(arrays) - {*PER_FRAME, *PER_SEQUENCE, "inputs", "times"})
    if unknown:
        raise ConfigError(f"split {split.name!r}: no rule for dropping frames from its arrays {unknown}")
    n, t = arrays["frames"].shape[:2]
    idx = kept_frames(n, t, keep, rng)
    rows = np.arange(n)[:, None]
    out = {k: arrays[k][rows, idx] for k in PER_FRAME if k in arrays}
    out.update({k: arrays[k] for k in PER_SEQUENCE if k in arrays})
    times = arrays.get("times", np.broadcast_to(np.arange(t) * dt, (n, t)))
    out["times"] = times[rows, idx]
    if "inputs" in arrays:
        out["inputs"] = held_inputs(arrays["inputs"], idx)
    return out
