"""Checkpoints written atomically: a killed write never replaces the last good file."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch

from simulators import ConfigError, write_bytes_atomic


def save_atomic(obj, path: str | Path) -> Path:
    """torch.save into memory, then ``write_bytes_atomic``: a temporary file beside ``path``, fsync, rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """The saved dict; a truncated or foreign file is a ConfigError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint file {path} does not exist")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError) as e:
        raise ConfigError(
            f"checkpoint file {path} is truncated or corrupted ({type(e).__name__}); "
            "restore it, or train the run again"
        ) from e
    if not isinstance(state, dict) or "model" not in state:
        raise ConfigError(f"checkpoint file {path} holds no model weights (not a physvae checkpoint)")
    return state
