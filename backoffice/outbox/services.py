"""Record domain events into the outbox, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from backoffice.outbox.models import OutboxEvent


def event_record(
    *, type: str, aggregate: str, data: dict[str, Any], channel_code: str = ""
) -> OutboxEvent:
    """Write one event. The caller holds a lock on the aggregate, so `sequence` cannot race."""
    last = OutboxEvent.objects.filter(aggregate=aggregate).aggregate(last=Max("sequence"))["last"]
    return OutboxEvent.objects.create(
        type=type,
        aggregate=aggregate,
        sequence=(last or 0) + 1,
        data=data,
        channel_code=channel_code,
    )
