"""Serve localstripe (a stateful local Stripe server) on loopback, for tests and `make run`.

`python scripts/localstripe_serve.py PORT [WEBHOOK_URL WEBHOOK_SECRET]`: with a webhook,
localstripe signs and sends the events it emits (e.g. payment_intent.succeeded) there,
as Stripe would. Unlike its own command, which listens on every
interface and saves its whole store to /tmp/localstripe.pickle on each write (shared by
every instance on the machine), this binds 127.0.0.1 only and keeps the store in memory.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources, server, webhooks


def main() -> None:
    port = int(sys.argv[1])
    resources.Store.dump_to_disk = lambda self: None
    if len(sys.argv) == 4:
        webhooks.register_webhook("backoffice", sys.argv[2], sys.argv[3], None)
    web.run_app(server.app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
