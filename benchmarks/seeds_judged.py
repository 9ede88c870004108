"""A suite's variations judged on the mean of several seeds, from record folders of different seeds.

    python -m benchmarks.seeds_judged --suite robustness benchmarks/results/robustness_cpu2 \
        benchmarks/results/robustness_seed1_cpu2 [--name robustness_seeds]

Each folder is a suite's record folder (its cells/*.json); the records of all of them are judged together by
``physvae.bench.against_seeds.across_seeds`` against the suite's datasets and tolerances: for every variation and
model with its plain cell on two seeds or more, the R² drops and VPT of the means, the baselines and collapse on
every seed, and each seed's own misses. A cell found in two folders is refused (one record per cell). Results:
benchmarks/results/<name>_<machine>.{json,md} and the table on stdout; the devices the cells ran on are named.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from physvae.bench import load_suite
from physvae.bench.against_seeds import across_seeds, seeds_table
from physvae.bench.report import devices_line
from simulators import ConfigError

from .machine import run_main, write_result


def load_records(folders: list[Path]) -> list[dict]:
    """Every cell record of the folders (FOLDER/cells/*.json); ConfigError names a folder without cells or a cell
    recorded in two folders."""
    seen, records = {}, []
    for folder in folders:
        paths = sorted(Path(folder).glob("cells/*.json"))
        if not paths:
            raise ConfigError(f"{folder}: no cell records (cells/*.json); give a suite's record folder")
        for p in paths:
            if p.name in seen:
                raise ConfigError(f"cell {p.stem} is recorded twice: {seen[p.name]} and {p}; keep one")
            seen[p.name] = p
            records.append(json.loads(p.read_text()))
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path, help="record folders of the suite (each with cells/)")
    ap.add_argument("--suite", required=True, help="the suite whose datasets and tolerances judge them")
    ap.add_argument("--name", default="seeds_judged", help="result file name (default seeds_judged)")
    args = ap.parse_args()
    suite = load_suite(args.suite)
    records = load_records(args.folders)
    rows = across_seeds(suite, records)
    if not rows:
        raise ConfigError("no variation has its plain cell on two seeds or more in these folders")
    used = {  # the cells the rows judged: each variant and its plain cell, on each of its seeds
        (dataset, row["model"], seed)
        for row in rows
        for dataset in (row["dataset"], row["against"])
        for seed in row["seeds"]
    }
    devices = devices_line([r for r in records if (r["dataset"], r["model"], r["seed"]) in used])
    text = (
        seeds_table(suite, rows) + f"\nCells from {', '.join(map(str, args.folders))}; devices: {devices}.\n"
    )
    print(text)
    write_result(
        args.name, {"suite": suite.name, "folders": list(map(str, args.folders)), "rows": rows}, text
    )


if __name__ == "__main__":
    run_main(main, "benchmarks.seeds_judged")
