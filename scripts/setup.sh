#!/usr/bin/env bash
# Create (or reuse) the virtual environment at .venv and install smfuse with its pinned
# dependencies. Only PyPI is needed; torch==2.13.0 is the CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
