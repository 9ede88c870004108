"""``physvae import --clip T``: one long video (or any long sequences) cut into clips of T frames, and a seeded
order of the clips that keeps each source sequence's clips together and in time order, so that neighbouring clips
(which share their boundary motion) do not land on both sides of a split boundary more than once per source."""

from __future__ import annotations

import numpy as np

from simulators import DatasetError

PER_FRAME = ("frames", "states", "times", "inputs")  # cut along time by --clip; the rest is per sequence


def clip_sequences(seqs: dict, length: int, role: str, notes: list[str]) -> dict:
    """Each sequence cut into consecutive clips of ``length`` frames (the remainder dropped, with a note);
    per-sequence arrays repeated per clip; "group" (clips,) the source sequence each clip came from."""
    n, t = seqs["frames"].shape[:2]
    k = t // length
    if k == 0:
        raise DatasetError(f"--clip {length} is longer than the {role}sequences' {t} frames")
    if t % length:
        notes.append(
            f"--clip {length}: the last {t % length} of each {role}sequence's {t} frames fill no clip and are dropped"
        )
    out = {}
    for key, arr in seqs.items():
        if arr is None:
            out[key] = None
        elif key in PER_FRAME:
            arr = arr[:, : k * length]
            out[key] = arr.reshape(n * k, length, *arr.shape[2:])
        else:
            out[key] = np.repeat(arr, k, axis=0)
    out["group"] = np.repeat(np.arange(n), k)
    return out


def grouped_order(n: int, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """A seeded order of n rows: a permutation, or one of the groups with each group's rows in their order."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.permutation(n)
    return np.concatenate([np.flatnonzero(groups == g) for g in rng.permutation(np.unique(groups))])
