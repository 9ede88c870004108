#!/usr/bin/env bash
# The main job: set up, then run the quick benchmark suite (CPU when there is no GPU; ~15 min on 2 cores).
# Results land in benchmarks/results/quick_<machine>/ (results.md, .csv, .json, comparison.png); rerunning skips
# finished cells. Then the README's results table is refreshed from results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tag=$(.venv/bin/python -c "from benchmarks.machine import machine, machine_tag; print(machine_tag(machine()))")
.venv/bin/physvae bench --suite quick --jobs 2 --out "benchmarks/results/quick_${tag}" "$@"
.venv/bin/python -m benchmarks.readme_tables
