"""How the ``physvae`` command reports what went wrong: one line, an exit code, never a traceback (unless asked).

Exit codes: 2 for bad input (a ConfigError or DatasetError: the message names the field or file and what was
expected), 1 for a failure (the file system refused, training diverged, an internal error); ``--debug`` re-raises.
"""

from __future__ import annotations

import errno
import os

from simulators import ConfigError, DatasetError

BAD_INPUT, FAILURE = 2, 1

# errno -> what it means for the path, in words a user can act on
_OS_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "it is a folder, a file was expected",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "it exists and is not a folder",
    errno.ENOENT: "no such file or folder",
    errno.ENOTEMPTY: "the folder is not empty",
    errno.ENAMETOOLONG: "the name is too long",
}


def describe_os_error(e: OSError) -> str:
    """'cannot write PATH: REASON' for a file-system error; the path is the one the system named."""
    path = e.filename if e.filename is not None else "?"
    reason = _OS_REASONS.get(e.errno, e.strerror or str(e))
    if e.filename2 is not None:
        return f"cannot move {path} to {e.filename2}: {reason}"
    return f"cannot use {os.fsdecode(path) if isinstance(path, bytes) else path}: {reason}"


def describe(e: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for an exception that reached the command line."""
    from .bench.failed import CellsFailed
    from .train import TrainingDiverged

    if isinstance(e, (ConfigError, DatasetError)):
        return str(e), BAD_INPUT
    if isinstance(e, OSError):
        return describe_os_error(e), FAILURE
    if isinstance(e, (TrainingDiverged, CellsFailed)):
        return str(e), FAILURE
    if isinstance(e, MemoryError):
        return "out of memory; use smaller settings (fewer or shorter sequences, a smaller batch)", FAILURE
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"internal error ({type(e).__name__}: {first}); run again with --debug for the traceback", FAILURE
