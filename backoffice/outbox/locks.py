"""Row locks of the webhook endpoints: edits, deletion and the fan-out (docs/architecture.md).

An endpoint is referred to by its deliveries. Inserting a delivery takes `FOR KEY SHARE`
on the endpoint (the foreign key's check, at commit), so:
- an edit locks `FOR NO KEY UPDATE`, which that does not wait for, nor it for that;
- a deletion locks `FOR UPDATE`, which waits for a fan-out that shares the endpoint and
  makes later ones wait until the row is gone;
- the fan-out shares the endpoints it delivers to (`FOR KEY SHARE`) before it inserts:
  one that a deletion committed meanwhile is skipped, never referred to by a delivery
  that would fail its foreign key.
"""

from __future__ import annotations

from django.db import connection

from backoffice.outbox.models import WebhookEndpoint
from backoffice.sql import table


def webhook_endpoint_lock(*, endpoint_id: int) -> WebhookEndpoint:
    """Lock an endpoint for an edit (`FOR NO KEY UPDATE`): fan-outs go on meanwhile."""
    return WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)


def webhook_endpoint_lock_for_delete(*, endpoint_id: int) -> WebhookEndpoint | None:
    """Lock an endpoint about to be deleted (`FOR UPDATE`), or None when it is gone."""
    return WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()


def webhook_endpoints_share_active() -> list[WebhookEndpoint]:
    """The active endpoints, each held `FOR KEY SHARE` until the caller commits, in id order.

    A deletion holding one is waited for, and the row it deleted is left out.
    """
    share = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    sql = f"SELECT * FROM {table(WebhookEndpoint)} WHERE active ORDER BY id{share}"  # noqa: S608
    return list(WebhookEndpoint.objects.raw(sql))
