"""Checkpoints written atomically (a killed write never replaces the last good file) and checksummed: the
SHA-256 of the model weights is saved beside them and checked on load, so a flipped bit in a weight is an error,
not a silently different model. Files saved before checksums load unchecked."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import torch

from simulators import ConfigError, write_bytes_atomic


def weights_digest(weights: dict) -> str:
    """Hex SHA-256 of a state dict's tensors (names, dtypes, shapes and bytes, in sorted name order)."""
    h = hashlib.sha256()
    for name in sorted(weights):
        t = weights[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_atomic(obj, path: str | Path) -> Path:
    """torch.save into memory, then ``write_bytes_atomic``: a temporary file beside ``path``, fsync, rename.
    A dict holding ``model`` weights gets their ``weights_digest`` as ``model_sha256``."""
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = {**obj, "model_sha256": weights_digest(obj["model"])}
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
    want = state.pop("model_sha256", None)
    if want is not None and weights_digest(state["model"]) != want:
        raise ConfigError(
            f"checkpoint file {path} is corrupted: its weights do not match their saved SHA-256; "
            "restore it, or train the run again"
        )
    return state
