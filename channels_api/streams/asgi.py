"""Streams on the event loop: no thread is held while a stream is open.

`backoffice.asgi` routes the stream paths here. The view runs once, in a worker thread
(authentication, rate limit, 404: the same answers as every API view), and either
refuses (its problem+json answer is sent as is) or grants a stream. Then, on the loop:
subscribe to the topics (one Redis pub/sub connection per process, shared), read the
log after Last-Event-ID, send the snapshot and the backlog, and forward pushed events,
with a keep-alive comment every STREAM_HEARTBEAT_SECONDS, until the client leaves or
STREAM_MAX_SECONDS pass (the client resumes with Last-Event-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections

from backoffice import realtime
from channels_api.streams.sse import (
    CONTENT_TYPE,
    HEADERS,
    HEARTBEAT,
    StreamGrant,
    sse_event,
    sse_retry,
    sse_snapshot,
)
from channels_api.streams.views import ASGI_MARK, StaffStreamView, StoreOrderStreamView

ROUTES = [
    (re.compile(r"^/api/v1/store/orders/(?P<token>[^/]+)/stream$"), StoreOrderStreamView),
    (re.compile(r"^/api/v1/admin/deliveries/stream$"), StaffStreamView),
]
_views: dict[type, object] = {}


def stream_route(scope: dict) -> tuple[object, dict] | None:
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return None
    for pattern, view_class in ROUTES:
        match = pattern.match(scope.get("path", ""))
        if match:
            view = _views.setdefault(view_class, view_class.as_view())
            return view, match.groupdict()
    return None


def _run_view(view, request, kwargs):
    close_old_connections()
    try:
        response = view(request, **kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        return response
    finally:
        close_old_connections()


def _in_thread(function, *args):
    close_old_connections()
    try:
        return function(*args)
    finally:
        close_old_connections()


async def _send_response(send, response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


async def serve_stream(scope: dict, receive, send, view, kwargs: dict) -> None:
    request = ASGIRequest(scope, io.BytesIO(b""))
    request.META[ASGI_MARK] = "asgi"
    response = await sync_to_async(_run_view, thread_sensitive=False)(view, request, kwargs)
    if not isinstance(response, StreamGrant):
        await _send_response(send, response)
        return
    await _stream(response, receive, send)


async def _stream(grant: StreamGrant, receive, send) -> None:
    gone = asyncio.Event()

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    hub = realtime.broker().hub()
    subscription = await hub.subscribe(grant.topics)
    try:
        headers = [(b"content-type", CONTENT_TYPE.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = [sse_retry(3000)]
        last = await _catch_up(grant, grant.last_event_id, body)
        await send({"type": "http.response.body", "body": b"".join(body), "more_body": True})
        deadline = time.monotonic() + settings.STREAM_MAX_SECONDS
        while not gone.is_set() and time.monotonic() < deadline:
            item = await subscription.next(settings.STREAM_HEARTBEAT_SECONDS)
            if gone.is_set():
                break
            if item is None:
                chunk = HEARTBEAT
            else:
                _topic, event = item
                if event is None:  # the push was interrupted: read the log again
                    if subscription.overflowed:
                        break  # too far behind: the client resumes with Last-Event-ID
                    parts: list[bytes] = []
                    last = await _catch_up(grant, last, parts)
                    chunk = b"".join(parts)
                elif not realtime.id_after(event.id, last) or not grant.accept(event):
                    continue
                else:
                    last = event.id
                    chunk = sse_event(event)
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
        await subscription.close()


async def _catch_up(grant: StreamGrant, after: str | None, out: list[bytes]) -> str | None:
    """The backlog after `after` (or a snapshot when it cannot be had); the last id sent."""
    events: list = []
    snapshot_needed = after is None
    if after is not None:
        broker = realtime.broker()
        for topic in grant.topics:
            backlog = await sync_to_async(broker.backlog, thread_sensitive=False)(topic, after)
            if backlog is None:
                snapshot_needed = True
                break
            events.extend(backlog)
    if snapshot_needed:
        snapshot = await sync_to_async(_in_thread, thread_sensitive=False)(grant.snapshot)
        if snapshot is not None:
            out.append(sse_snapshot(snapshot))
    last = after
    for event in sorted(events, key=lambda e: realtime._id_key(e.id)):
        if grant.accept(event):
            out.append(sse_event(event))
        last = event.id
    return last
