#!/usr/bin/env bash
# Set up .venv on a fresh machine: torch first (a CPU wheel where no torch is installed), then physvae.
# The venv sees system site-packages, so a GPU user's own torch build is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv --system-site-packages .venv
fi
PY=.venv/bin/python
if ! "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m pip install -q "torch==2.13.0"
fi
stamp=.venv/.physvae-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$PY" -m pip install -q -e ".[dev]"
    echo "$want" > "$stamp"
fi
