#!/usr/bin/env bash
# Set up .venv and run the whole test suite (unit tests and the notebooks under nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE TQDM_DISABLE=1 MPLBACKEND=Agg
exec .venv/bin/python -m pytest "$@"
