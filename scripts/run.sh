#!/usr/bin/env bash
# The main job: set up, then run the quick benchmark suite (CPU when there is no GPU; ~25 min on 2 cores).
# The suite runs in bench_out/quick_<machine>/ (ignored by git; rerunning after a kill skips finished cells),
# then its reports are published to benchmarks/results/quick_<machine>/ and the README's table is refreshed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tag=$(.venv/bin/python -c "from benchmarks.machine import machine, machine_tag; print(machine_tag(machine()))")
work="bench_out/quick_${tag}"
published="benchmarks/results/quick_${tag}"
.venv/bin/physvae bench --suite quick --jobs 2 --out "$work" "$@"
mkdir -p "$published"
rm -rf "$published/cells"
cp -r "$work/cells" "$work"/results.{md,csv,json} "$work/comparison.png" "$published/"
.venv/bin/python -m benchmarks.readme_tables
