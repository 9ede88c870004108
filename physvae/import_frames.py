"""Frames for ``physvae import``: any accepted dtype to uint8, square, resized to an encoder size, binarized.

Each step returns its frames and leaves warnings to the caller (``import_video`` warns once everything checked out).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from simulators import ConfigError, DatasetError

from .nets import SIZES

SQUARE = ("crop", "pad")  # how non-square frames are made square


def to_uint8(frames, label: str) -> tuple[np.ndarray, list[str]]:
    """(N, T, H, W[, C]) uint8, uint16, bool, or floats in [0, 1] -> (N, T, H, W, C) uint8 with C in {1, 3}, and
    warnings. An alpha channel (grey + alpha, RGBA: what matplotlib and many renderers save) is dropped where
    every pixel is opaque and drawn over black otherwise.

    Args:
        frames: the frames; label: where they came from, for errors ("frames file x.npy").
    """
    try:
        frames = np.asarray(frames)
    except ValueError as e:  # nested lists of different lengths
        raise DatasetError(f"{label}: frames are ragged (sequences of different lengths?): {e}") from e
    if frames.ndim == 4:
        frames = frames[..., None]
    if frames.ndim != 5:
        raise DatasetError(f"{label}: frames must have shape (N, T, H, W[, C]), got {frames.shape}")
    if frames.shape[-1] not in (1, 2, 3, 4):
        raise DatasetError(
            f"{label}: frames must have 1 or 3 channels (2 or 4 with alpha), got {frames.shape[-1]} "
            f"(shape {frames.shape})"
        )
    frames, notes = _uint8(frames, label)
    if frames.shape[-1] in (2, 4):
        frames, more = _over_black(frames, label)
        notes += more
    return frames, notes


def _uint8(frames: np.ndarray, label: str) -> tuple[np.ndarray, list[str]]:
    """Any accepted dtype -> uint8 on 0..255, and warnings where the values look like another range."""
    if frames.dtype == np.bool_:
        return frames.astype(np.uint8) * np.uint8(255), []
    if frames.dtype == np.uint8:
        hi = int(frames.max(initial=0))
        if hi <= 1:
            return frames, [
                f"{label}: uint8 frames whose largest value is {hi} make a black dataset (uint8 frames are read "
                "on 0..255); for 0/1 masks pass bool frames or floats in [0, 1]"
            ]
        return frames, []
    if frames.dtype == np.uint16:
        hi = int(frames.max(initial=0))
        notes = []
        if hi < 4096:
            notes.append(
                f"{label}: uint16 frames are read on 0..65535 and these reach only {hi}, a dark dataset (at most "
                f"{round(hi / 257)} of 255); a camera's 12-bit or narrower frames need scaling to floats in [0, 1] "
                "first"
            )
        return np.rint(frames / 257).astype(np.uint8), notes
    if np.issubdtype(frames.dtype, np.floating):
        bad = ~np.isfinite(frames)
        if bad.any():
            raise DatasetError(
                f"{label}: {int(bad.sum())} frame values are NaN or infinite (first at index "
                f"{tuple(int(i) for i in np.argwhere(bad)[0])})"
            )
        lo, hi = float(frames.min()), float(frames.max())
        if lo < 0 or hi > 1:
            raise DatasetError(f"{label}: float frames must lie in [0, 1], got values in [{lo}, {hi}]")
        return np.rint(frames * 255).astype(np.uint8), []
    raise DatasetError(
        f"{label}: frames must be uint8, uint16, bool or float in [0, 1], got dtype {frames.dtype}"
    )


def _over_black(frames: np.ndarray, label: str) -> tuple[np.ndarray, list[str]]:
    """uint8 (..., C + 1) with alpha last -> (..., C): the colour where every pixel is opaque, else the colour
    weighted by its opacity (drawn over black), with a warning saying how much was transparent."""
    colour, alpha = frames[..., :-1], frames[..., -1:]
    if (alpha == 255).all():
        return colour, []
    share = float((alpha < 255).mean())
    drawn = np.rint(colour.astype(np.float32) * (alpha.astype(np.float32) / 255)).astype(np.uint8)
    return drawn, [
        f"{label}: the frames' alpha channel makes {share:.1%} of the pixels (partly) transparent: they are drawn "
        "over black; flatten them on your own background first if it is not black"
    ]


def grey_if_equal(frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W, C) uint8 -> one channel where three channels are equal everywhere (a grey GIF or PNG decodes
    to RGB), else unchanged: the model then reads grey frames as grey."""
    if (
        frames.shape[-1] == 3
        and (frames[..., 0] == frames[..., 1]).all()
        and (frames[..., 0] == frames[..., 2]).all()
    ):
        return frames[..., :1]
    return frames


def make_square(frames: np.ndarray, how: str | None, label: str) -> np.ndarray:
    """(N, T, H, W, C) -> (N, T, S, S, C): the central square ("crop", S = min side) or black borders ("pad",
    S = max side); square frames pass unchanged, others without ``how`` are refused."""
    h, w = frames.shape[2:4]
    if h == w:
        return frames
    if how not in SQUARE:
        if how is None:
            raise DatasetError(
                f"{label}: frames are {h}×{w}, the encoder needs square ones; pass --square crop (the central "
                f"{min(h, w)}×{min(h, w)}) or --square pad (black borders to {max(h, w)}×{max(h, w)})"
            )
        raise ConfigError(f"--square must be one of {SQUARE}, got {how!r}")
    if how == "crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        return frames[:, :, top : top + s, left : left + s]
    s = max(h, w)
    top, left = (s - h) // 2, (s - w) // 2
    pad = ((0, 0), (0, 0), (top, s - h - top), (left, s - w - left), (0, 0))
    return np.pad(frames, pad)


def target_size(side: int, size: int | None) -> int:
    """The side to resize to: ``size``, or the supported side nearest to ``side``."""
    target = min(SIZES, key=lambda s: abs(s - side)) if size is None else size
    if target not in SIZES:
        raise ConfigError(f"--size must be one of {SIZES}, got {target}")
    return target


def resize(frames: np.ndarray, target: int) -> np.ndarray:
    """(N, T, S, S, C) uint8 -> (N, T, target, target, C), bilinear."""
    n, t, s, _, c = frames.shape
    if s == target:
        return frames
    out = np.empty((n, t, target, target, c), dtype=np.uint8)
    for i in range(n):
        for j in range(t):
            img = Image.fromarray(frames[i, j].squeeze(-1) if c == 1 else frames[i, j])
            out[i, j] = np.asarray(img.resize((target, target), Image.Resampling.BILINEAR)).reshape(
                target, target, c
            )
    return out


def check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0 < threshold < 1:
        raise ConfigError(f"--binarize threshold must be in (0, 1), got {threshold}")


def binarize(frames: np.ndarray, threshold: float) -> np.ndarray:
    """uint8 frames -> exactly 0 or 255 (0 or 1 as the model reads them): 255 where frames / 255 > threshold."""
    return np.where(frames > threshold * 255, np.uint8(255), np.uint8(0))


def is_binary(frames: np.ndarray) -> bool:
    return bool(np.isin(frames, (0, 255)).all())
