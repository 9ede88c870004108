"""Torch views of a dataset split: frames as float tensors (T, C, H, W) in [0, 1], states, inputs, windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from simulators import ConfigError, DatasetError, Split

IN_MEMORY_BYTES = 1 << 30  # splits below this are read into memory once; larger ones stay memory-mapped


@dataclass
class Batch:
    """A batch of windows.

    Attributes:
        frames: (B, T, C, H, W) float in [0, 1].
        states: (B, T, D) float32 true states.
        inputs: (B, T, U) float32 control inputs, or None.
        times: (B, T) float64 seconds of unevenly timed frames, or None (frame t at t · Δt).
    """

    frames: torch.Tensor
    states: torch.Tensor
    inputs: torch.Tensor | None
    times: torch.Tensor | None = None

    def to(self, device) -> Batch:
        return Batch(
            self.frames.to(device),
            self.states.to(device),
            None if self.inputs is None else self.inputs.to(device),
            None if self.times is None else self.times.to(device),
        )


class SequenceDataset(Dataset):
    """A split as a torch Dataset. Item i is sequence i (or a window of it) as a dict of tensors.

    Args:
        split: a loaded split.
        window: frames per item (None: whole sequences); windows start at random offsets drawn from ``generator``.
        generator: numpy generator for window offsets (default: seeded with 0).
    """

    def __init__(self, split: Split, window: int | None = None, generator: np.random.Generator | None = None):
        if len(split) == 0:
            raise DatasetError(f"split {split.name!r} is empty")
        n_frames = split.frames.shape[1]
        if window is not None and window > n_frames:
            raise ConfigError(
                f"window of {window} frames is longer than the sequences of split {split.name!r} ({n_frames} frames)"
            )
        self.split, self.window = split, window
        self.rng = generator or np.random.default_rng(0)
        small = split.frames.nbytes < IN_MEMORY_BYTES
        self.frames = np.asarray(split.frames) if small else split.frames
        self.states = np.asarray(split.states, dtype=np.float32)
        self.inputs = None if split.inputs is None else np.asarray(split.inputs, dtype=np.float32)
        self.times = np.asarray(split.times, dtype=np.float64) if uneven(split.times) else None

    def __len__(self) -> int:
        return len(self.split)

    @property
    def n_frames(self) -> int:
        return self.frames.shape[1]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        start = 0 if self.window is None else int(self.rng.integers(0, self.n_frames - self.window + 1))
        b = self.batch(np.array([i]), np.array([start]))
        out = {"frames": b.frames[0], "states": b.states[0]}
        if b.inputs is not None:
            out["inputs"] = b.inputs[0]
        if b.times is not None:
            out["times"] = b.times[0]
        return out

    def batch(
        self, indices: np.ndarray, starts: np.ndarray | None = None, length: int | None = None
    ) -> Batch:
        """Sequences ``indices`` (B,), each from its start (B,) for ``length`` frames (default: the window)."""
        length = length or self.window or self.n_frames
        starts = np.zeros(len(indices), dtype=int) if starts is None else starts
        order = np.argsort(indices)  # sorted reads from a memory map
        frames = np.asarray(self.frames[indices[order]])[np.argsort(order)]
        rows = np.arange(len(indices))[:, None]
        cols = starts[:, None] + np.arange(length)
        x = frames_tensor(frames[rows, cols])
        s = torch.from_numpy(self.states[indices][rows, cols])
        u = None if self.inputs is None else torch.from_numpy(self.inputs[indices][rows, cols])
        times = None if self.times is None else torch.from_numpy(self.times[indices][rows, cols])
        return Batch(x, s, u, times)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """A random batch of random windows (sequences drawn without replacement when the split is big enough)."""
        idx = rng.choice(len(self), size=batch_size, replace=batch_size > len(self))
        length = self.window or self.n_frames
        starts = rng.integers(0, self.n_frames - length + 1, size=batch_size)
        return self.batch(idx, starts)


def frames_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames (B, T, H, W, C) -> float (B, T, C, H, W) in [0, 1]; ``frames`` must be writable (not a
    read-only memory map: index or copy it first)."""
    return torch.from_numpy(frames).permute(0, 1, 4, 2, 3).float().div_(255.0)


def uneven(times: np.ndarray | None, rtol: float = 1e-6) -> bool:
    """Whether frame times (N, T) stray from their median interval by more than ``rtol`` of it (the importer's
    "irregular" time grid); None: frames on the Δt grid."""
    if times is None or times.shape[1] < 2:
        return False
    steps = np.diff(np.asarray(times, dtype=np.float64), axis=1)
    step = float(np.median(steps))
    return bool(np.abs(steps - step).max() > rtol * step)
