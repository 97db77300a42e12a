#!/usr/bin/env bash
# Set up .venv and run the main job: every notebook through papermill (--profile full: fetch the data, then into
# results/; the quick default writes runs/results-quick/, git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg
exec .venv/bin/python -m smfuse.reproduce "$@"
