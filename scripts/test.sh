#!/usr/bin/env bash
# Set up .venv and run the whole test suite (unit tests, the site in a real browser, and the
# notebooks under nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=PASSIVE TQDM_DISABLE=1 MPLBACKEND=Agg
# The browser test needs Debian's chromium: required when it could be installed, skipped
# (with the reason) on a machine where it cannot.
if bash scripts/setup_browser.sh; then
    export SMFUSE_REQUIRE_BROWSER=1
fi
exec .venv/bin/python -m pytest "$@"
