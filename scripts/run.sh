#!/usr/bin/env bash
# The main job: set up, then make and preview the DVBF pendulum dataset (replaced by the quick benchmark suite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/physvae generate --preset dvbf_pendulum16 --out data/dvbf_pendulum16 --jobs 2 --overwrite
.venv/bin/physvae show data/dvbf_pendulum16
