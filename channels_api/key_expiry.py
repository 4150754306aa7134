"""API-key rotation reminders: one `api_key.expiring` event per key and expiry date, when the
key comes within API_KEY_EXPIRY_WARNING_DAYS of expiring.

The state is the outbox itself: a key was warned about an expiry when an `api_key.expiring`
event of that key (aggregate `api_key:<id>`) names that `expires_at`. So a worker restart
forgets nothing, a second run records nothing twice, and a new `expires_at` (the key was
extended, or shortened) arms a new warning. Outbox events are kept OUTBOX_RETENTION_DAYS
(90), longer than the window (a system check, `channels_api.E001`, refuses settings where
they are not), so a warning is never purged while its key is in it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from backoffice.outbox.services import events_record
from backoffice.timefmt import rfc3339
from channels_api.models import ApiKey

EVENT_TYPE = "api_key.expiring"


def days_until_expiry(api_key: ApiKey, now: datetime) -> int | None:
    """Whole days left before the key expires, rounded up (0: expired); None: never expires."""
    if api_key.expires_at is None:
        return None
    seconds = (api_key.expires_at - now).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def _aggregate(api_key: ApiKey) -> str:
    return f"api_key:{api_key.pk}"


def api_keys_warn_expiring(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Record `api_key.expiring` for each active key that expires within the warning window
    and has not been warned about that expiry; returns how many were recorded.

    Keys are locked in id order with SKIP LOCKED (a concurrent run takes the others, and
    checks each key again under its lock), so two runs never warn twice. The event carries
    the key's id, prefix, name, kind, channel, `expires_at` and `days_left`; it belongs to
    no channel, so endpoints for every channel's events receive it (like `stock.low`).
    """
    now = now or timezone.now()
    window = timedelta(days=settings.API_KEY_EXPIRY_WARNING_DAYS)
    recorded, after = 0, 0
    while True:  # batches by id, each in its own transaction: warned keys never hold back others
        with transaction.atomic():
            due = list(
                ApiKey.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("channel")
                .filter(
                    pk__gt=after,
                    revoked_at__isnull=True,
                    expires_at__gt=now,
                    expires_at__lte=now + window,
                )
                .order_by("id")[:batch_size]
            )
            recorded += len(events_record(_reminders(due, now)))
        if len(due) < batch_size:
            return recorded
        after = due[-1].pk


def _reminders(keys: list[ApiKey], now: datetime) -> list[dict]:
    """The reminders of these keys not yet recorded for their current expiry (one query)."""
    warned = set(
        OutboxEvent.objects.filter(
            type=EVENT_TYPE, aggregate__in=[_aggregate(api_key) for api_key in keys]
        ).values_list("aggregate", "data__expires_at")
    )
    reminders = []
    for api_key in keys:
        expires_at = rfc3339(api_key.expires_at)
        if (_aggregate(api_key), expires_at) in warned:
            continue
        reminders.append(
            {
                "type": EVENT_TYPE,
                "aggregate": _aggregate(api_key),
                "data": {
                    "id": str(api_key.pk),
                    "prefix": api_key.prefix,
                    "name": api_key.name,
                    "kind": api_key.kind,
                    "channel": api_key.channel.code if api_key.channel else None,
                    "expires_at": expires_at,
                    "days_left": days_until_expiry(api_key, now),
                },
            }
        )
    return reminders
