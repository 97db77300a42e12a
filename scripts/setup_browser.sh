#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser test of the site
# (tests/test_site_browser.py drives it with playwright; playwright's own browser download is
# never used). Installs it with apt when missing and run as root; exit 1 if it is still missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium (apt) for the browser test" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "chromium not found and not installable here (needs root and apt-get)" >&2; exit 1; }
