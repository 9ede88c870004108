"""Figures of a synthesis sweep: measured against requested values, the edited rollouts as a strip and a GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .preview import frames_to_rgb, save_figure, side_by_side, write_gif


def _u8(frames: np.ndarray) -> np.ndarray:
    """(..., C, H, W) float in [0, 1] -> (..., H, W, C) uint8."""
    return (np.clip(np.moveaxis(frames, -3, -1), 0, 1) * 255).round().astype(np.uint8)


def sweep_gif(result, path: Path, sequence: int = 0) -> Path:
    """One sequence's rollouts for every requested value side by side (left: the smallest), over time."""
    frames = _u8(result.frames[sequence])  # (V, T, H, W, C)
    scale = max(1, 64 // frames.shape[-2])
    return write_gif(path, side_by_side(frames_to_rgb(frames, scale)), fps=8)


def sweep_figure(result, path: Path, sequence: int = 0, max_rows: int = 5, max_cols: int = 8) -> Path:
    """Left: measured against requested (one line per sequence, the diagonal dashed); right: the edited frame and
    those after it for up to ``max_rows`` of the requested values."""
    s = result.summary
    v, t = result.frames.shape[1:3]
    rows = np.unique(np.linspace(0, v - 1, min(v, max_rows)).round().astype(int))
    cols = min(t, max_cols)
    fig = Figure(figsize=(1.1 * cols + 4, 1.2 * len(rows) + 0.6))
    grid = fig.add_gridspec(len(rows), cols + 1, width_ratios=[4] + [1] * cols)
    ax = fig.add_subplot(grid[:, 0])
    req = result.requested
    for m in result.measured:
        ax.plot(req, m, "o-", ms=3, lw=0.8, alpha=0.7)
    ax.plot(req, req, "k--", lw=0.8)
    ax.set_xlabel(f"requested {s['quantity']} [{s['unit']}]", fontsize=7)
    ax.set_ylabel("measured from frames", fontsize=7)
    ax.set_title(f"via {s['via']}: r = {s['pearson_r']:.3f}, slope {s['slope']:.2f}", fontsize=8)
    ax.tick_params(labelsize=6)
    rgb = frames_to_rgb(_u8(result.frames[sequence]))
    for i, r in enumerate(rows):
        for j in range(cols):
            a = fig.add_subplot(grid[i, j + 1])
            a.imshow(rgb[r, j], interpolation="nearest")
            a.set_xticks([]), a.set_yticks([])
            if j == 0:
                a.set_ylabel(f"{req[r]:.2f}", fontsize=7)
            if i == 0:
                a.set_title("edit" if j == 0 else f"+{j}", fontsize=7)
    return save_figure(fig, path)
