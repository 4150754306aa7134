"""The text/event-stream wire format, and what a stream is granted to send."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from backoffice.realtime import Event

CONTENT_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStreamRenderer(JSONRenderer):
    """Lets `Accept: text/event-stream` (what EventSource sends) through content
    negotiation; error answers are still problem+json."""

    media_type = CONTENT_TYPE
    format = "sse"


def sse_event(event: Event) -> bytes:
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(event.data)}\n\n".encode()


def sse_snapshot(data: dict[str, Any]) -> bytes:
    """The state now, without an id: EventSource keeps the last event id it had."""
    return f"event: snapshot\ndata: {json.dumps(data)}\n\n".encode()


def sse_retry(milliseconds: int) -> bytes:
    return f"retry: {milliseconds}\n\n".encode()


HEARTBEAT = b": keep-alive\n\n"


class StreamGrant(HttpResponse):
    """What the view allows the ASGI server to stream: topics, a snapshot, a filter."""

    def __init__(
        self,
        *,
        topics: list[str],
        snapshot: Callable[[], dict[str, Any] | None],
        accept: Callable[[Event], bool] = lambda event: True,
        last_event_id: str | None = None,
    ) -> None:
        super().__init__(status=200)
        self.topics = topics
        self.snapshot = snapshot
        self.accept = accept
        self.last_event_id = last_event_id
