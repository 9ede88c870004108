"""Checkpoints written atomically: a killed write never replaces the last good file."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from simulators import write_bytes_atomic


def save_atomic(obj, path: str | Path) -> Path:
    """torch.save into memory, then ``write_bytes_atomic``: a temporary file beside ``path``, fsync, rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load(path: str | Path, device: str | torch.device = "cpu") -> dict:
    return torch.load(Path(path), map_location=device, weights_only=False)
