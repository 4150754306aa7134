"""The webhook body and its `Backoffice-Signature` header (HMAC-SHA256 of "<t>.<body>")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from backoffice.outbox.models import OutboxEvent

SIGNATURE_HEADER = "Backoffice-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def rfc3339(moment: datetime) -> str:
    """UTC with a `Z`, as the API writes timestamps."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: OutboxEvent) -> dict[str, Any]:
    """What receivers get: the same `id` on every retry; `sequence` orders an aggregate's events."""
    return {
        "id": str(event.id),
        "type": event.type,
        "created_at": rfc3339(event.created_at),
        "sequence": event.sequence,
        "aggregate": event.aggregate,
        "channel": event.channel_code or None,
        "data": event.data,
    }


def event_body(event: OutboxEvent) -> bytes:
    return json.dumps(event_payload(event), cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>`, with one `v1` per valid secret (two while rotating)."""
    signatures = [
        f"v1={signature_compute(secret=secret, timestamp=timestamp, body=body)}"
        for secret in secrets
    ]
    return ",".join([f"t={timestamp}", *signatures])


def signature_verify(
    *,
    header: str,
    body: bytes,
    secret: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """The receiver's check: a `v1` matches the secret and `t` is recent (no replays)."""
    timestamp, candidates = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
