"""Reads for the outbox: events, webhook endpoints and deliveries, limited to a channel."""

from __future__ import annotations

from django.db.models import QuerySet

from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, channel_code: str | None = None) -> QuerySet[WebhookEndpoint]:
    """Endpoints, oldest first; with `channel_code`, only that channel's endpoints."""
    endpoints = WebhookEndpoint.objects.order_by("id")
    if channel_code is not None:
        endpoints = endpoints.filter(channel_code=channel_code)
    return endpoints


def webhook_delivery_list(*, channel_code: str | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries, newest first, with their event; limited like their endpoints."""
    deliveries = WebhookDelivery.objects.select_related("event").order_by("-id")
    if channel_code is not None:
        deliveries = deliveries.filter(endpoint__channel_code=channel_code)
    return deliveries


def event_list(*, channel_code: str | None = None) -> QuerySet[OutboxEvent]:
    """Events in the order they were recorded; with `channel_code`, that channel's only."""
    events = OutboxEvent.objects.order_by("created_at", "id")
    if channel_code is not None:
        events = events.filter(channel_code=channel_code)
    return events
