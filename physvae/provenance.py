"""Which code made a result: the git commit of physvae's source tree, and whether its code had uncommitted changes.

A record that says "physvae 0.1.0" cannot tell two days of changes apart, and figures move with the code (a cell
retrained a week later can land elsewhere). Runs (``summary.json``) and benchmark cell records carry
``code_source()``: ``{"commit": 40 hex digits, "dirty": bool}`` when physvae runs from a git checkout (dirty:
files under ``physvae/`` or ``simulators/`` differ from the commit), else None (an installed copy, or no git).
"""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the checkout that holds physvae/ and simulators/
CODE_DIRS = ("physvae", "simulators")


def source_commit(root: Path = SOURCE_ROOT) -> dict | None:
    """{"commit", "dirty"} of the git checkout whose top folder is ``root`` (its ``CODE_DIRS`` for dirtiness), or
    None where root is not such a top folder (an installed copy inside some other repository included), has no
    commit yet, or git is not at hand. Never raises."""
    top = _git(root, "rev-parse", "--show-toplevel")
    # not a checkout, or a repository that physvae only lies inside (a virtual environment in a user's project)
    if top is None or Path(top).resolve() != Path(root).resolve():
        return None
    head = _git(root, "rev-parse", "--verify", "HEAD")
    status = _git(root, "status", "--porcelain", "--", *CODE_DIRS)
    if head is None or status is None:
        return None
    return {"commit": head, "dirty": bool(status)}


@cache
def code_source(root: Path = SOURCE_ROOT) -> dict | None:
    """``source_commit(root)`` taken once per process, at the first call: the code a process imported, which
    commits and edits made while it trains do not change. Call it when work starts (``fit``, a bench cell) and
    record that, not a fresh ``source_commit()`` when the work ends."""
    return source_commit(root)


def _git(root: Path, *args: str) -> str | None:
    """The stripped stdout of ``git -C root args``, or None when it fails or takes over 10 s."""
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (subprocess.TimeoutExpired, OSError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache
def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; else ``platform.processor()``, which may be ""): CPU figures
    agree bit for bit only between machines that run the same kernels, so records say where they ran."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
