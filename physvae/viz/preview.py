"""Quick look at a dataset: a GIF of a few sequences side by side and a PNG strip with their state traces."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from matplotlib.figure import Figure

from simulators import Split, integer, write_bytes_atomic

SHOWN_KINDS = ("angle", "coordinate", "velocity")  # the state traces a preview plots (not derived or energy)


def frames_to_rgb(frames: np.ndarray, scale: int = 1) -> np.ndarray:
    """(..., H, W, C) uint8 with C in {1, 3} -> (..., H·scale, W·scale, 3) uint8 (nearest-neighbour upscaling)."""
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    if scale > 1:
        frames = frames.repeat(scale, axis=-3).repeat(scale, axis=-2)
    return np.ascontiguousarray(frames)


def side_by_side(frames: np.ndarray, gap: int = 2) -> np.ndarray:
    """(S, T, H, W, 3) -> (T, H, S·(W + gap) − gap, 3): S sequences next to each other, a white gap between."""
    s, t, h, w, c = frames.shape
    out = np.full((t, h, s * (w + gap) - gap, c), 255, dtype=np.uint8)
    for i in range(s):
        out[:, :, i * (w + gap) : i * (w + gap) + w] = frames[i]
    return out


def write_gif(path: Path, video: np.ndarray, fps: float = 10.0) -> Path:
    """Write (T, H, W, 3) uint8 frames as a looping GIF (atomically: encoded in memory, then renamed into place)."""
    data = iio.imwrite("<bytes>", video, extension=".gif", duration=1000.0 / fps, loop=0)
    return write_bytes_atomic(path, data)


def figure(rows: int = 1, cols: int = 1, figsize=(4.0, 3.0), **kwargs) -> tuple[Figure, np.ndarray]:
    """A matplotlib Figure and its (rows, cols) axes, without pyplot: no global backend, no figure registry."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def save_figure(fig: Figure, path: Path) -> Path:
    """Lay out and render a figure; the file (format from its suffix) is written atomically."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format=Path(path).suffix.lstrip(".") or "png")
    return write_bytes_atomic(path, buf.getvalue())


def preview(split: Split, out: str | Path, n: int = 4, max_frames: int = 10) -> list[Path]:
    """Write ``preview.gif`` and ``preview.png`` for the first ``n`` sequences of a split into folder ``out``.

    Warns when the split holds fewer than ``n`` sequences (all are shown) or NaN states (not drawn)."""
    integer("n (sequences to show)", n, minimum=1)
    if n > len(split):
        warnings.warn(
            f"split {split.name!r} holds {len(split)} sequences; showing all of them, not {n}", stacklevel=2
        )
        n = len(split)
    bad = np.flatnonzero(np.isnan(np.asarray(split.states[:n])).any(axis=(1, 2)))
    if len(bad):
        warnings.warn(
            f"split {split.name!r}: the states of sequence(s) {bad.tolist()} hold NaN (the dataset's states are "
            "damaged or were imported so); their traces are not drawn",
            stacklevel=2,
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(split.frames[:n])  # (n, T, H, W, C)
    scale = max(1, 96 // frames.shape[2])
    gif = write_gif(out / "preview.gif", side_by_side(frames_to_rgb(frames, scale)))
    return [gif, _strip(split, frames, out / "preview.png", max_frames)]


def _strip(split: Split, frames: np.ndarray, path: Path, max_frames: int) -> Path:
    n, t = frames.shape[:2]
    cols = min(t, max_frames)
    steps = np.linspace(0, t - 1, cols).round().astype(int)
    fig, axes = figure(n, cols + 1, (1.2 * cols + 4, 1.3 * n), gridspec_kw={"width_ratios": [1] * cols + [4]})
    rgb = frames_to_rgb(frames)
    times = np.arange(t) * split.dt
    kinds = split.state_kinds or ["coordinate"] * len(split.state_names)
    shown = [i for i, kind in enumerate(kinds) if kind in SHOWN_KINDS][:4]
    for r in range(n):
        for c, f in enumerate(steps):
            ax = axes[r, c]
            ax.imshow(rgb[r, f], interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={times[f]:.2f}", fontsize=7)
        ax = axes[r, -1]
        for i in shown:
            ax.plot(times, split.states[r, :, i], label=f"{split.state_names[i]} [{split.state_units[i]}]")
        ax.tick_params(labelsize=6)
        if r == 0:
            ax.legend(fontsize=6, loc="upper right")
    return save_figure(fig, path)
