"""Copy result tables from benchmarks/results/*.md into the README between markers.

    python -m benchmarks.readme_tables

A block ``<!-- table:NAME -->`` ... ``<!-- /table -->`` in README.md is replaced by the table of
``benchmarks/results/NAME.md`` (its lines up to the first blank line).
"""

from __future__ import annotations

import re
from pathlib import Path

from simulators import write_text_atomic

from .machine import run_main

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- table:(?P<name>[\w./-]+) -->\n.*?<!-- /table -->", re.S)


def table(name: str) -> str:
    """Every table of benchmarks/results/NAME.md with its "## " heading (as bold text) and the line under it."""
    lines = (ROOT / "benchmarks" / "results" / f"{name}.md").read_text().splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("## "):
            out += ["", f"**{line[3:]}**", ""]
        elif line.startswith("|"):
            out.append(line)
            if i + 1 < len(lines) and not lines[i + 1].startswith("|"):
                note = lines[i + 2] if i + 2 < len(lines) and not lines[i + 1].strip() else ""
                out += ["", note] if note and not note.startswith(("|", "#")) else []
    return "\n".join(out).strip()


def fill(readme: str) -> str:
    return BLOCK.sub(lambda m: f"<!-- table:{m['name']} -->\n{table(m['name'])}\n<!-- /table -->", readme)


def main() -> None:
    path = ROOT / "README.md"
    write_text_atomic(path, fill(path.read_text()))
    print(f"updated {path}")


if __name__ == "__main__":
    run_main(main, "benchmarks.readme_tables")
