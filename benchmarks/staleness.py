"""Which committed benchmark records are older than the code: every record under benchmarks/results with the code
that made it and how many commits have changed that code since.

    python -m benchmarks.staleness            # a markdown table, the stalest records first
    python -m benchmarks.staleness --all      # every record, one row per file

A record is a cell of a suite (``<folder>/cells/<cell>.json``) or any other ``.json`` under benchmarks/results
(standalone benchmarks, a folder's figures); a suite's ``results.json`` and ``work/`` are derived, not records.
Its code is known exactly where the record says it (``versions.source`` or ``source``: ``{commit, dirty}``,
written since physvae's provenance field); otherwise the commit that last committed the record is the bound: the
code was at most that one, so the count is a lower bound. "Code commits since" counts the commits after it that
touch ``physvae/`` or ``simulators/``; a figure can move with any of them, so a record with many is a candidate
for a re-run. CPU figures also move with the machine (another CPU rounds otherwise, and training amplifies it),
so each record's CPU is shown where it says one (``versions.cpu`` or ``machine.cpu``; "unknown" where not).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from physvae.provenance import CODE_DIRS

from .machine import run_main

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RecordAge:
    """One record file: its path (relative to the checkout), the commit its code is tied to, whether that commit is
    what the record says (``exact``) or the commit that last committed it (a bound), whether its code had
    uncommitted changes (``dirty``; None where unknown), the commit's date, and the code commits since."""

    path: str
    commit: str
    exact: bool
    dirty: bool | None
    date: str
    code_commits_since: int
    cpu: str = "unknown"  # the CPU model the record says it ran on


def git(root: Path, *args: str) -> str:
    """stdout of ``git -C root args``; raises RuntimeError naming the command where git fails."""
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {root}: {out.stderr.strip()}")
    return out.stdout


def record_files(results: Path) -> list[Path]:
    """The record files under ``results``: cells of suites and every other .json but derived ones."""
    files: list[Path] = []
    for path in sorted(results.rglob("*.json")):
        rel = path.relative_to(results).parts
        if "work" in rel:
            continue
        folder = results / rel[0]
        if len(rel) > 1 and (folder / "cells").is_dir() and rel[1] != "cells":
            continue  # results.json and the like of a suite: made from its cells
        files.append(path)
    return files


def read_record(path: Path) -> dict:
    """A record file's JSON object ({} where it cannot be read or is not an object)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def stated_cpu(record: dict) -> str:
    """The CPU model a record says it ran on (``versions.cpu`` of a cell, ``machine.cpu`` of a standalone record),
    or "unknown"."""
    for section in ("versions", "machine"):
        cpu = record.get(section, {}).get("cpu") if isinstance(record.get(section), dict) else None
        if isinstance(cpu, str) and cpu:
            return cpu
    return "unknown"


def stated_source(record: dict) -> dict | None:
    """The ``{commit, dirty}`` a record states (``versions.source`` or ``source``), or None."""
    versions = record.get("versions")
    src = versions.get("source") if isinstance(versions, dict) else None
    src = src if src is not None else record.get("source")
    return src if isinstance(src, dict) and isinstance(src.get("commit"), str) else None


def last_commits(root: Path, results: Path) -> dict[str, str]:
    """Path (relative to root) -> the commit that last changed it, for every file under ``results`` in history."""
    rel = results.resolve().relative_to(root.resolve())
    out: dict[str, str] = {}
    commit = ""
    for line in git(root, "log", "--format=@%H", "--name-only", "--", str(rel)).splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line and line not in out:
            out[line] = commit
    return out


def ages(root: Path = ROOT, results: Path | None = None) -> list[RecordAge]:
    """Every committed record under ``results`` (default root/benchmarks/results), stalest first."""
    results = results or root / "benchmarks" / "results"
    if not results.resolve().is_relative_to(root.resolve()):
        raise ValueError(
            f"the results folder {results} is not inside the checkout {root}: no history to read"
        )
    committed = last_commits(root, results)
    counts: dict[str, tuple[int, str] | None] = {}
    rows: list[RecordAge] = []
    for path in record_files(results):
        rel = str(path.resolve().relative_to(root.resolve()))
        if rel not in committed:
            continue  # not committed yet: nothing to say about its age
        record = read_record(path)
        src = stated_source(record)
        commit = src["commit"] if src else committed[rel]
        if commit not in counts:
            counts[commit] = _since(root, commit)
        if counts[commit] is None:  # a commit this clone does not have (made elsewhere): tie it to the commit
            commit, src = committed[rel], None
            if commit not in counts:
                counts[commit] = _since(root, commit)
        n, date = counts[commit]
        dirty = src.get("dirty") if src else None
        rows.append(RecordAge(rel, commit, src is not None, dirty, date, n, stated_cpu(record)))
    return sorted(rows, key=lambda r: (-r.code_commits_since, r.path))


def _since(root: Path, commit: str) -> tuple[int, str] | None:
    """(code commits after ``commit`` up to HEAD, its date) or None where the commit is not in this history."""
    try:
        date = git(root, "show", "-s", "--format=%ad", "--date=short", commit).strip()
        n = int(git(root, "rev-list", "--count", f"{commit}..HEAD", "--", *CODE_DIRS).strip())
    except RuntimeError:
        return None
    return n, date


def by_folder(rows: list[RecordAge]) -> list[dict]:
    """One summary per record folder (or top-level file): records, the stalest and freshest code commits since,
    and how many say their code exactly."""
    groups: dict[str, list[RecordAge]] = {}
    for r in rows:
        parts = Path(r.path).parts
        key = parts[2] if len(parts) > 2 else r.path
        groups.setdefault(key.removesuffix(".json"), []).append(r)
    out = [
        {
            "record": key,
            "files": len(rs),
            "stalest": max(r.code_commits_since for r in rs),
            "freshest": min(r.code_commits_since for r in rs),
            "oldest_date": min(r.date for r in rs),
            "exact": sum(r.exact for r in rs),
            "dirty": sum(bool(r.dirty) for r in rs),
            "cpus": sorted({r.cpu for r in rs}),
        }
        for key, rs in groups.items()
    ]
    return sorted(out, key=lambda g: (-g["stalest"], g["record"]))


def markdown(rows: list[RecordAge], every: bool = False) -> str:
    """The table: per folder (default) or per file (``every``)."""
    if every:
        lines = [
            "| record | code commit | basis | date | code commits since | CPU |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            basis = ("stated, dirty" if r.dirty else "stated") if r.exact else "committed"
            lines.append(
                f"| {r.path} | {r.commit[:8]} | {basis} | {r.date} | {r.code_commits_since} | {r.cpu} |"
            )
        return "\n".join(lines)
    lines = [
        "| record | files | code commits since (stalest / freshest) | oldest | code stated | dirty | CPUs |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in by_folder(rows):
        lines.append(
            f"| {g['record']} | {g['files']} | {g['stalest']} / {g['freshest']} | {g['oldest_date']} | "
            f"{g['exact']} of {g['files']} | {g['dirty']} | {', '.join(g['cpus'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.staleness", description=__doc__.split("\n")[0])
    ap.add_argument("--all", action="store_true", help="one row per record file, not per folder")
    ap.add_argument(
        "--results", type=Path, default=None, help="the results folder (default benchmarks/results)"
    )
    args = ap.parse_args(argv)
    try:
        rows = ages(ROOT, args.results)
    except (ValueError, RuntimeError) as e:
        raise SystemExit(f"error: {e}") from None
    print(markdown(rows, every=args.all))
    print(
        f"\n{len(rows)} records; code commits since = commits touching {', '.join(CODE_DIRS)} after the record's "
        "code (stated: the record's own source field; committed: after the commit that last committed it, a lower "
        "bound)."
    )


if __name__ == "__main__":
    run_main(main, "benchmarks.staleness")
