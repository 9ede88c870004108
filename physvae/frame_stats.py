"""What the training frames show where nothing moves: the per-pixel median (the background, borders included) and
how far the moving content departs from it (its contrast). Read once, from a fixed-seed sample of frames."""

from __future__ import annotations

import numpy as np

MAX_FRAMES = 2048  # frames sampled (without replacement, a fixed seed) for the statistics
MIN_CONTRAST = 1.0 / 255.0  # one grey level: the contrast of a video where nothing departs from the median


def sample_frames(frames: np.ndarray, max_frames: int = MAX_FRAMES, seed: int = 0) -> np.ndarray:
    """At most ``max_frames`` of uint8 frames (N, T, H, W, C), drawn without replacement: (M, H, W, C)."""
    flat = np.asarray(frames).reshape(-1, *np.shape(frames)[2:])
    if len(flat) > max_frames:
        flat = flat[np.sort(np.random.default_rng(seed).choice(len(flat), max_frames, replace=False))]
    return flat


def median_frame(frames: np.ndarray, max_frames: int = MAX_FRAMES, seed: int = 0) -> np.ndarray:
    """The per-pixel median of uint8 frames (N, T, H, W, C): (C, H, W) in [0, 1], float32."""
    return _median(sample_frames(frames, max_frames, seed))


def median_and_contrast(
    frames: np.ndarray, max_frames: int = MAX_FRAMES, seed: int = 0
) -> tuple[np.ndarray, float]:
    """The per-pixel median of uint8 frames (N, T, H, W, C), (C, H, W) in [0, 1], and their contrast: the median
    over frames of each frame's largest departure from it, in [0, 1] units, floored at one grey level (1 for a
    white body on black, 0.5 for one on mid-grey, whatever the border). One sample of frames serves both."""
    flat = sample_frames(frames, max_frames, seed)
    median = _median(flat)
    away = np.abs(flat.astype(np.float32) / 255.0 - median.transpose(1, 2, 0)[None]).reshape(len(flat), -1)
    return median, max(float(np.median(away.max(1))), MIN_CONTRAST)


def _median(flat: np.ndarray) -> np.ndarray:
    """uint8 frames (M, H, W, C) -> their per-pixel median (C, H, W) in [0, 1], float32."""
    return np.median(flat, axis=0).transpose(2, 0, 1).astype(np.float32) / 255.0
