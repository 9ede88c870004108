"""The anomaly figure: a surprise score over time for a few sequences of each event kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .preview import figure, save_figure


def score_figure(
    scores: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    threshold: float,
    first_frame: int,
    score_name: str,
    path: Path,
    per_kind: int = 3,
) -> Path:
    """One panel per event kind present (and one of normal sequences): ``per_kind`` sequences' scores (N, T)
    over frames, each sequence's first labelled frame marked by a dotted line of its colour, the threshold
    dashed, the unscored frames (before ``first_frame``) shaded."""
    kinds = [0] + [c for c in range(1, len(names)) if (labels == c).any()]
    seq_kind = labels.max(axis=1)
    fig, axes = figure(1, len(kinds), (3.0 * len(kinds), 2.6), sharey=True)
    t = np.arange(scores.shape[1])
    for ax, code in zip(axes[0], kinds):
        for j, i in enumerate(np.flatnonzero(seq_kind == code)[:per_kind]):
            color = f"C{j}"
            ax.plot(t, scores[i], color=color, lw=1.2)
            if code:
                ax.axvline(int(np.argmax(labels[i] > 0)), color=color, ls=":", lw=1.2)
        ax.axhline(threshold, color="k", ls="--", lw=0.8)
        ax.axvspan(-0.5, first_frame - 0.5, color="0.9", zorder=0)
        ax.set_title(names[code] if code else "normal", fontsize=9)
        ax.set_xlabel("frame")
    axes[0, 0].set_ylabel(score_name)
    return save_figure(fig, path)
