#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own browser download needs the
# internet). Install it with apt-get when it is missing and we are root; otherwise say how.
set -euo pipefail

browser="${BROWSER_EXECUTABLE:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium with apt-get..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
else
  echo "chromium is missing: install it (e.g. 'sudo apt-get install chromium') and retry," >&2
  echo "or point BROWSER_EXECUTABLE at a Chromium or Chrome binary." >&2
  exit 2
fi
