#!/usr/bin/env bash
# Set up .venv and run the main job: every notebook through papermill into results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg
exec .venv/bin/python -m smfuse.reproduce "$@"
