"""A webhook receiver for trying Backoffice's webhooks on your own machine.

Standard library only. It answers every POST with 200 and prints one line per
delivery: the event type, what it is about, its id, and whether the signature
matches the endpoint's secret (`--secret`, the `secret` the API answered when the
endpoint was registered):

    python3 examples/webhook_receiver.py --listen 127.0.0.1:8001 --secret whsec_...

`make run` allows webhooks to loopback addresses (WEBHOOK_ALLOW_PRIVATE_URLS=1 in
var/local.env); a production server refuses them (docs/webhooks.md).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_matches(header: str, body: bytes, secret: str, now: float | None = None) -> bool:
    """A `v1` of `t=<seconds>,v1=<hex>[,v1=<hex>]` is HMAC-SHA256 of "<t>.<body>", t recent."""
    fields = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for name, _, value in fields if name == "t" and value.isdigit()]
    signatures = [value for name, _, value in fields if name == "v1"]
    if not stamps or abs((now or time.time()) - int(stamps[0])) > TOLERANCE_SECONDS:
        return False
    signed = stamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class WebhookHandler(BaseHTTPRequestHandler):
    secret = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.secret:
            verdict = "signature not checked (no --secret)"
        elif signature_matches(self.headers.get("Backoffice-Signature", ""), body, self.secret):
            verdict = "signature ok"
        else:
            verdict = "SIGNATURE MISMATCH"
        try:
            event = json.loads(body)
            line = f"{event['type']} {event['aggregate']} id={event['id']} {verdict}"
        except (ValueError, KeyError, TypeError):
            line = f"not a Backoffice event ({len(body)} bytes) {verdict}"
        print(line, flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the line above is the log."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8001", help="host:port to listen on")
    parser.add_argument("--secret", default="", help="the endpoint's signing secret (whsec_...)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    WebhookHandler.secret = args.secret
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), WebhookHandler)
    print(f"Receiving webhooks on http://{host or '127.0.0.1'}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
