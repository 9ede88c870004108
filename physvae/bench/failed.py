"""A suite cell that fails is recorded and the others go on: one diverged training must not cost the suite.

A failed cell leaves ``failed/<cell>.json`` in the suite's output folder — the cell id, the one-line reason
``physvae`` would print, the exception's type and its traceback — and no record under ``cells/``, so running the
suite again retries it (a finished retry removes the failure file). The report names the failed cells at the top,
and ``run_suite`` raises ``CellsFailed`` once the report is written, so the command exits non-zero.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

from simulators import write_json_atomic


class CellsFailed(RuntimeError):
    """Some cells of a suite failed; the report of the others is written. The message names each cell and why."""


def failure_path(out: str | Path, cell_id: str) -> Path:
    """Where a suite run into ``out`` keeps the failure of cell ``cell_id`` (present only while it is failed)."""
    return Path(out) / "failed" / f"{cell_id}.json"


def attempt(run, cell_id: str, out: str | Path, *args) -> dict:
    """``run(*args)`` (a cell's training and evaluation, returning its record); a failure other than an
    interrupt is written to ``failure_path`` and returned as ``{"cell", "error", "exception", "traceback",
    "failed": True}`` instead of raised. A success removes an earlier failure file of the cell."""
    from ..failures import describe

    path = failure_path(out, cell_id)
    try:
        record = run(*args)
    except Exception as e:
        message, _ = describe(e)
        failure = {
            "cell": cell_id,
            "failed": True,
            "error": message,
            "exception": type(e).__name__,
            "traceback": traceback.format_exc(),
        }
        write_json_atomic(path, failure)
        return failure
    path.unlink(missing_ok=True)
    return record


def failures_on_record(out: str | Path, cell_ids: list[str]) -> dict[str, str]:
    """{cell id: reason} for the cells among ``cell_ids`` whose last attempt in ``out`` failed."""
    found = {}
    for cell_id in cell_ids:
        path = failure_path(out, cell_id)
        if path.is_file():
            found[cell_id] = json.loads(path.read_text())["error"]
    return found


def raise_if_failed(failed: dict[str, str], out: str | Path) -> None:
    """Raise ``CellsFailed`` naming each failed cell and where its traceback is, if any failed."""
    if failed:
        reasons = "; ".join(f"{cell_id}: {why}" for cell_id, why in failed.items())
        raise CellsFailed(
            f"{len(failed)} cell(s) failed ({reasons}); the report covers the others, the tracebacks are in "
            f"{Path(out) / 'failed'}/, and running the suite again retries the failed cells"
        )
