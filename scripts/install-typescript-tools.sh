#!/usr/bin/env bash
# Install the pinned TypeScript client tools (openapi-typescript and tsc, from
# scripts/typescript-client/package-lock.json) into a project-local folder, default
# var/typescript-client; nothing global. Installs node and npm with apt-get when they are
# missing and we are root. Used by `make test` (tests/channels/test_generated_clients.py).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
source_dir="$here/scripts/typescript-client"
target="${1:-$here/var/typescript-client}"

ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing nodejs and npm with apt-get..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
  else
    echo "node and npm are missing: install them (e.g. 'sudo apt-get install nodejs npm') and retry." >&2
    exit 2
  fi
}

ensure_node
mkdir -p "$target"
if cmp -s "$source_dir/package-lock.json" "$target/package-lock.json" \
  && [ -x "$target/node_modules/.bin/openapi-typescript" ] && [ -x "$target/node_modules/.bin/tsc" ]; then
  exit 0
fi
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
(cd "$target" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "Installed $(cd "$target" && node_modules/.bin/openapi-typescript --version 2>/dev/null | head -n1) and tsc $(cd "$target" && node_modules/.bin/tsc --version) in $target"
