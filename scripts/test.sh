#!/usr/bin/env bash
# The test command: set up, lint, then run the whole test suite (CPU only, under 15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ruff check physvae simulators benchmarks tests notebooks
.venv/bin/python -m pytest -q "$@"
