#!/usr/bin/env bash
# Run the suite (`make test`, inside scripts/with-services.sh): with TEST_WORKERS=N > 0, the
# tests that may run beside others on N pytest-xdist workers, then the tests marked
# `serial` alone; with TEST_WORKERS=0, everything in one process, in order.
# Arguments go to pytest in both phases. Exit status: pytest's (5 only when neither phase
# found a test).
set -uo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
pytest="$here/.venv/bin/pytest"
workers="${TEST_WORKERS:-0}"

if [ "$workers" = "0" ]; then
  exec "$pytest" "$@"
fi

"$pytest" -n "$workers" --dist loadgroup --phase parallel "$@"
parallel=$?
stop_first=""
for argument in "$@"; do
  case "$argument" in -x | --exitfirst | --maxfail=*) stop_first=1 ;; esac
done
if [ "$parallel" != "0" ] && [ "$parallel" != "5" ] && [ -n "$stop_first" ]; then
  exit "$parallel"
fi

echo "--- the tests that run alone (marked serial) ---"
"$pytest" --phase serial "$@"
serial=$?

if [ "$parallel" = "5" ] && [ "$serial" = "5" ]; then exit 5; fi
for status in "$parallel" "$serial"; do
  if [ "$status" != "0" ] && [ "$status" != "5" ]; then exit "$status"; fi
done
exit 0
