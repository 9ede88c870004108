"""Animated GIFs as frame sequences: undoing an encoder's merged frames.

GIF encoders (Pillow's among them) store a run of identical frames once, with the run's summed display time: a
50-frame simulation whose bob rests at a turning point for two frames reads back as 49 frames, one shown for
100 ms. Every frame's duration (ms) is an integer multiple of the rate's when that is what happened, so the frame
is repeated that many times and the sequence has its frames back. Durations that are not multiples (a GIF timed by
hand, a dropped frame) are left as they are, with a warning: the frames are then taken as evenly spaced.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
from PIL import Image


def gif_durations(path: Path) -> np.ndarray | None:
    """Every frame's display time in ms, (T,) int, or None where the file gives none (or a zero) or cannot be
    read (reading its frames then names the file). Pillow decodes every frame to seek it, so each version of a
    file (its path, modification time and size) is read once; later calls reuse that reading."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return None
    durations = _read_durations(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return None if durations is None else np.asarray(durations, dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def _read_durations(path: str, mtime_ns: int, size: int) -> tuple[int, ...] | None:
    """``gif_durations`` of one version of a file (``mtime_ns`` and ``size`` key the cache only)."""
    try:
        with Image.open(path) as im:
            durations = []
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                durations.append(im.info.get("duration"))
    except Exception:  # Pillow raises format-specific errors; the frames' reader reports them
        return None
    if any(d is None or d <= 0 for d in durations):
        return None
    return tuple(int(d) for d in durations)


def restore_merged(
    frames: np.ndarray, durations: np.ndarray | None, path: Path, base: int | None = None
) -> tuple[np.ndarray, str | None]:
    """frames (T, H, W[, C]) with each frame repeated duration / ``base`` times, where every duration is a whole
    multiple of it, and a note naming the file where frames were repeated or the durations are uneven (None
    otherwise). ``base``: the frame period in ms, the shortest duration of every GIF of the source (a GIF whose
    bar rests on some pixel for two frames at every step has no frame shown for one period); default this
    file's shortest."""
    if durations is None or len(durations) != len(frames):
        return frames, None
    base = int(durations.min()) if base is None else base
    if (durations % base).any():
        uneven = sorted(set(durations.tolist()))
        return frames, (
            f"{path.name} shows its frames for uneven times ({uneven} ms), not multiples of {base} ms: they are "
            "taken as evenly spaced; pass --times if they were not"
        )
    repeats = durations // base
    if (repeats == 1).all():
        return frames, None
    return np.repeat(frames, repeats, axis=0), (
        f"{path.name}: {int((repeats > 1).sum())} frame(s) shown for several {base} ms periods (an encoder "
        f"merges identical frames) repeated, {len(frames)} -> {int(repeats.sum())} frames"
    )


def shortest_duration(durations: list[np.ndarray | None]) -> int | None:
    """The shortest frame duration (ms) over GIFs' frame durations (``gif_durations`` each; None skipped), or
    None where none says."""
    found = [d.min() for d in durations if d is not None]
    return int(min(found)) if found else None


def warn_notes(notes: list[str], folder: Path | None = None) -> None:
    """One warning for a source's GIF notes: the first named (after the folder holding the GIFs, if any), the
    others counted."""
    if notes:
        more = f" (and {len(notes) - 1} more file(s) like it)" if len(notes) > 1 else ""
        where = f"{folder}: " if folder is not None else ""
        warnings.warn(f"{where}{notes[0]}{more}", stacklevel=3)
