#!/usr/bin/env bash
# Set up .venv and run the main job: every notebook through papermill. --profile full fetches the data, writes a fresh
# runs/full-YYYYmmdd-HHMMSS/ (git-ignored) and ends with its reproduction report against the committed results/
# (runs/<run>/REPRODUCTION.md); the quick default writes runs/results-quick/. results/ changes only with
# --refresh-results, from a complete run.
# Exit status: 0 everything reproduced; 1 a notebook failed or something differs from results/; 2 a usage error;
# 3 incomplete (some claims could not be checked: the report names the command that fetches the missing data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE MPLBACKEND=Agg
exec .venv/bin/python -m smfuse.reproduce "$@"
