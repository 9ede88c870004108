#!/usr/bin/env bash
# The main job: set up, then run the quick benchmark suite (CPU when there is no GPU; ~25 min on 2 cores).
# The suite runs in bench_out/<suite>_<machine>/ (ignored by git; rerunning after a kill skips finished cells),
# then its reports are published to benchmarks/results/<suite>_<machine>/ and the README's tables are refreshed.
# SUITE=targets bash scripts/run.sh runs another built-in suite (physvae/bench/suites/) the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tag=$(.venv/bin/python -c "from benchmarks.machine import machine, machine_tag; print(machine_tag(machine()))")
suite="${SUITE:-quick}"
work="bench_out/${suite}_${tag}"
published="benchmarks/results/${suite}_${tag}"
.venv/bin/physvae bench --suite "$suite" --jobs 2 --out "$work" "$@"
mkdir -p "$published"
rm -rf "$published/cells"
cp -r "$work/cells" "$work"/results.{md,csv,json} "$work/comparison.png" "$work/suite.toml" "$published/"
.venv/bin/python -m benchmarks.readme_tables
