"""Stream endpoints: who may open them (the same keys, limits and errors as every view),
and what they send.

Served by the ASGI server (`backoffice.asgi`), the view only decides: it answers a
`StreamGrant`, and `channels_api.streams.asgi` holds the connection open on the event
loop, without a thread. Served by the WSGI server (gunicorn without the ASGI server in
front of these paths, or the test client), it answers what is new since
`Last-Event-ID` and closes; EventSource reconnects after STREAM_WSGI_RETRY_MS, so the
stream still works, polled (docs/delivery.md, "Streams").
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from backoffice import realtime
from backoffice.exceptions import ValidationFailed
from channels_api.admin_api.base import AdminView
from channels_api.delivery.output import staff_delivery_data
from channels_api.store.views import StoreView
from channels_api.streams.sse import (
    CONTENT_TYPE,
    HEADERS,
    EventStreamRenderer,
    StreamGrant,
    sse_event,
    sse_retry,
    sse_snapshot,
)
from delivery.events import STAFF_TOPIC, delivery_view, order_topic
from delivery.models import Delivery
from delivery.selectors import delivery_for_order, delivery_list
from orders.models import Order
from orders.selectors import order_get_by_token

ASGI_MARK = "backoffice.stream_transport"
LAST_EVENT_ID = OpenApiParameter(
    "Last-Event-ID",
    str,
    OpenApiParameter.HEADER,
    description="Resume after this event id (EventSource sends it when it reconnects).",
)
LAST_EVENT_ID_QUERY = OpenApiParameter(
    "last_event_id",
    str,
    description="The same as the Last-Event-ID header, for clients that cannot set headers.",
)
# One server-sent event (the shape OpenAPI 3.2 gives event streams): `data` is JSON.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["snapshot", "delivery", "location"]},
        "id": {"type": "string", "pattern": r"^\d+-\d+$"},
        "data": {"type": "string", "description": "The event as a JSON document."},
        "retry": {"type": "integer", "minimum": 0},
    },
}
STREAM_ANSWER = {
    (200, CONTENT_TYPE): OpenApiResponse(
        SSE_EVENT,
        description="Server-sent events: `snapshot` (the state now, no id) first, then "
        "`delivery` (status, courier, arrival window) and `location` (the courier's "
        "position) events with ids; a `: keep-alive` comment every few seconds.",
    )
}


def last_event_id(request: Request) -> str | None:
    value = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id")
    if value in (None, ""):
        return None
    if not realtime.event_id_valid(value):
        raise ValidationFailed({"Last-Event-ID": ["An event id this stream sent."]})
    return value


class StreamMixin:
    renderer_classes = [EventStreamRenderer]
    pagination_class = None
    query_parameters = ("last_event_id",)

    def stream(self, request: Request, grant: StreamGrant) -> HttpResponse:
        if request._request.META.get(ASGI_MARK) == "asgi":
            return grant
        return self.poll(grant)

    def poll(self, grant: StreamGrant) -> HttpResponse:
        """Under WSGI: what is new, then close; the client reconnects after `retry`."""
        parts = [sse_retry(settings.STREAM_WSGI_RETRY_MS)]
        events = [] if grant.last_event_id is None else None
        for topic in grant.topics:
            backlog = realtime.broker().backlog(topic, grant.last_event_id)
            if backlog is None:
                events = None
                break
            events = (events or []) + backlog
        if events is None or grant.last_event_id is None:
            snapshot = grant.snapshot()
            if snapshot is not None:
                parts.append(sse_snapshot(snapshot))
            # The newest event again, so that the client has an id to resume from.
            events = [e for e in map(realtime.broker().latest, grant.topics) if e is not None]
        parts.extend(sse_event(e) for e in sorted(events, key=lambda e: e.id) if grant.accept(e))
        response = HttpResponse(b"".join(parts), content_type=CONTENT_TYPE)
        for name, value in HEADERS.items():
            response[name] = value
        return response


def order_snapshot(order: Order) -> dict:
    order.refresh_from_db(fields=["status", "payment_status", "fulfillment_status"])
    delivery = delivery_for_order(order)
    return {
        "order": {
            "number": order.number,
            "status": order.status,
            "payment_status": order.payment_status,
            "fulfillment_status": order.fulfillment_status,
        },
        "delivery": delivery_view(delivery) if delivery else None,
    }


class StoreOrderStreamView(StreamMixin, StoreView):
    @extend_schema(
        operation_id="store_orders_stream",
        tags=["store: delivery"],
        parameters=[LAST_EVENT_ID, LAST_EVENT_ID_QUERY],
        responses=STREAM_ANSWER,
    )
    def get(self, request: Request, token: str):
        """Follow an order live (server-sent events).

        Open it with EventSource on the order's token: a `snapshot` of the order and its
        delivery comes first, then every change is pushed as it happens (the courier's
        position, status, the arrival window), fed to every server process through Redis.
        Reconnecting with `Last-Event-ID` resumes where it stopped (a snapshot again when the
        log no longer reaches back). Reads only.
        """
        order = order_get_by_token(channel=self.channel, token=token)
        if order is None:
            raise Http404
        grant = StreamGrant(
            topics=[order_topic(order.pk)],
            snapshot=lambda: order_snapshot(order),
            last_event_id=last_event_id(request),
        )
        return self.stream(request, grant)


def staff_snapshot(channel) -> dict:
    active = delivery_list(channel=channel).exclude(
        status__in=[Delivery.Status.DELIVERED, Delivery.Status.CANCELLED]
    )[:500]
    return {"deliveries": [staff_delivery_data(delivery) for delivery in active]}


class StaffStreamView(StreamMixin, AdminView):
    @extend_schema(
        operation_id="admin_deliveries_stream",
        tags=["admin: delivery"],
        parameters=[LAST_EVENT_ID, LAST_EVENT_ID_QUERY],
        responses=STREAM_ANSWER,
    )
    def get(self, request: Request):
        """Follow every delivery live (server-sent events), for a dispatch screen.

        A `snapshot` of the active deliveries first, then each change and courier position as
        it happens; a key limited to one channel gets that channel's only. Resumable with
        `Last-Event-ID`. Reads only.
        """
        channel = self.limited_channel
        code = channel.code if channel is not None else None
        grant = StreamGrant(
            topics=[STAFF_TOPIC],
            snapshot=lambda: staff_snapshot(channel),
            accept=lambda event: code is None or event.data.get("channel") == code,
            last_event_id=last_event_id(request),
        )
        return self.stream(request, grant)
