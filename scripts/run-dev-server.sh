#!/usr/bin/env bash
# `make run`'s server: uvicorn (ASGI: the API, the admin and the live streams) on HOST:PORT
# (the argument), reloading on edits of code and templates, and beside it
# localstripe, when the development settings (var/local.env) point Stripe at it. localstripe
# then sends its webhooks, signed, to this server's Stripe endpoint. Both stop together.
set -euo pipefail

address="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
python="$here/.venv/bin/python"
base="$("$python" -m backoffice.local_env get STRIPE_API_BASE)"

if [[ "$base" == http://127.0.0.1:* ]] && "$python" -c 'import localstripe' 2>/dev/null; then
  secret="$("$python" -m backoffice.local_env get STRIPE_WEBHOOK_SECRET)"
  "$python" "$here/scripts/localstripe_serve.py" "${base##*:}" \
    "http://$address/api/v1/payments/stripe/webhook" "$secret" \
    >"${VAR_DIR:-$here/var}/localstripe.log" 2>&1 &
  localstripe_pid=$!
  trap 'kill "$localstripe_pid" 2>/dev/null; wait "$localstripe_pid" 2>/dev/null' EXIT INT TERM
  echo "Stripe (localstripe) on $base, its webhooks to http://$address/api/v1/payments/stripe/webhook"
fi

"$python" -m uvicorn backoffice.asgi:application --host "${address%:*}" --port "${address##*:}" \
  --reload --reload-include '*.html' --log-level info
