"""Files written atomically: a temporary file beside the target, fsync, then a rename, so a reader (or a run
killed mid-write) never sees half a file. Used for every file physvae and simulators write."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

# the hidden names of temporaries: files (.NAME.tmp-PID) and folders (.NAME.partial-PID-HEX, .NAME.old-PID-HEX)
_TEMPORARY = re.compile(r"^\..+\.(tmp|partial|old)-(\d+)(-[0-9a-f]+)?$")


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it, fsync and a rename, so readers never see
    half a file (the parent folder is created if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path, "tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only still there when the write failed
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``write_bytes_atomic`` of ``text`` in UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data) -> Path:
    """``write_text_atomic`` of ``data`` as indented JSON."""
    return write_text_atomic(path, json.dumps(data, indent=2))


def temporary_name(path: Path, kind: str, suffix: str = "") -> Path:
    """A hidden temporary beside ``path`` that names this process (``remove_stale`` removes it once it is gone)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}{suffix}")


def remove_stale(folder: str | Path) -> list[Path]:
    """Remove the temporaries in ``folder`` left by writers that were killed (their process is gone); returns
    what was removed. Temporaries of a live process (a write in progress) are kept."""
    folder, removed = Path(folder), []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = _TEMPORARY.match(entry.name)
        if m is None or _alive(int(m.group(2))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process: leave its temporaries alone
        return True
    return True
