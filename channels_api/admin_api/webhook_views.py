"""Admin views for webhook endpoints, their deliveries, and the outbox events to reconcile."""

from __future__ import annotations

import uuid
from datetime import timedelta

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import InvalidTransition, NotFound
from backoffice.ids import is_id
from backoffice.outbox.deliveries import delivery_replay
from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from backoffice.outbox.selectors import event_list, webhook_delivery_list, webhook_endpoint_list
from backoffice.outbox.webhook_services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from catalog.models import Channel
from channels_api.admin_api.base import AdminView
from channels_api.admin_api.webhook_serializers import (
    OutboxEventOutput,
    WebhookDeliveryOutput,
    WebhookEndpointInput,
    WebhookEndpointOutput,
    WebhookEndpointWithSecretOutput,
    WebhookRotateSecretInput,
)
from channels_api.idempotency import idempotent
from channels_api.schema import raises

TAGS = ["admin: webhooks"]


class WebhookAdminView(AdminView):
    """Scopes everything to the key's channel when the key is limited to one."""

    @property
    def limited_code(self) -> str | None:
        return self.limited_channel.code if self.limited_channel is not None else None

    def channel_code_for(self, data: dict) -> str:
        """The endpoint's channel as this key may set it: a limited key only its own.

        Omitted, a limited key's endpoint gets the key's channel; `null` (all
        channels) or another channel is refused for a limited key.
        """
        channel: Channel | None = data.get("channel")
        if self.limited_channel is None:
            return channel.code if channel is not None else ""
        if "channel" in data and (channel is None or channel.pk != self.limited_channel.pk):
            raise PermissionDenied("This key is limited to one channel; use that one.")
        return self.limited_channel.code

    def get_endpoint(self, pk: str) -> WebhookEndpoint:
        endpoint = None
        if is_id(pk):
            endpoint = webhook_endpoint_list(channel_code=self.limited_code).filter(pk=pk).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        return endpoint


class WebhookEndpointListView(WebhookAdminView):
    serializer_class = WebhookEndpointOutput

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return webhook_endpoint_list(channel_code=self.limited_code)

    @extend_schema(operation_id="admin_webhooks_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List webhook endpoints.

        A key limited to one channel sees only its channel's endpoints. Reads only.
        """
        endpoints = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointOutput(endpoints, many=True).data)

    @extend_schema(
        operation_id="admin_webhooks_create",
        tags=TAGS,
        request=WebhookEndpointInput,
        responses={201: WebhookEndpointWithSecretOutput},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Create a webhook endpoint.

        Events of the chosen types are POSTed to `url`, signed with the endpoint's secret; the
        answer shows the `secret` this once.
        """
        payload = WebhookEndpointInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        endpoint = webhook_endpoint_create(
            url=data["url"],
            event_types=data["events"],
            channel_code=self.channel_code_for(data),
            description=data.get("description", ""),
        )
        if data.get("active") is False:
            endpoint = webhook_endpoint_update(endpoint=endpoint, active=False)
        return Response(
            WebhookEndpointWithSecretOutput(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDetailView(WebhookAdminView):
    serializer_class = WebhookEndpointOutput
    pagination_class = None

    @extend_schema(operation_id="admin_webhooks_retrieve", tags=TAGS)
    def get(self, request: Request, pk: str) -> Response:
        """Get a webhook endpoint.

        Reads only; the secret is not shown.
        """
        return Response(WebhookEndpointOutput(self.get_endpoint(pk)).data)

    @extend_schema(
        operation_id="admin_webhooks_update",
        tags=TAGS,
        request=WebhookEndpointInput,
        responses={200: WebhookEndpointOutput},
    )
    def patch(self, request: Request, pk: str) -> Response:
        """Change a webhook endpoint's URL, events, channel, description or active flag."""
        endpoint = self.get_endpoint(pk)
        payload = WebhookEndpointInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        endpoint = webhook_endpoint_update(
            endpoint=endpoint,
            url=data.get("url"),
            event_types=data.get("events"),
            channel_code=self.channel_code_for(data) if "channel" in data else None,
            description=data.get("description"),
            active=data.get("active"),
        )
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(operation_id="admin_webhooks_destroy", tags=TAGS, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        """Delete a webhook endpoint.

        No more deliveries are made to it.
        """
        webhook_endpoint_delete(endpoint=self.get_endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(WebhookAdminView):
    serializer_class = WebhookEndpointWithSecretOutput
    pagination_class = None

    @extend_schema(
        operation_id="admin_webhooks_rotate_secret",
        tags=TAGS,
        request=WebhookRotateSecretInput,
        responses={200: WebhookEndpointWithSecretOutput},
    )
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Rotate a webhook endpoint's signing secret.

        The answer shows the new secret this once; the previous one still signs for
        `previous_secret_valid_for` seconds, so receivers can switch without losing deliveries.
        """
        endpoint = self.get_endpoint(pk)
        payload = WebhookRotateSecretInput(data=request.data)
        payload.is_valid(raise_exception=True)
        seconds = payload.validated_data.get("previous_secret_valid_for")
        endpoint = webhook_endpoint_rotate_secret(
            endpoint=endpoint,
            previous_valid_for=timedelta(seconds=seconds) if seconds is not None else None,
        )
        return Response(WebhookEndpointWithSecretOutput(endpoint).data)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_type = django_filters.CharFilter(field_name="event__type")
    event = django_filters.UUIDFilter(field_name="event_id")

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []


class WebhookDeliveryListView(WebhookAdminView):
    serializer_class = WebhookDeliveryOutput
    filterset_class = DeliveryFilter

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return webhook_delivery_list(channel_code=self.limited_code)

    @extend_schema(operation_id="admin_webhooks_deliveries_list", tags=TAGS)
    def get(self, request: Request, pk: str) -> Response:
        """List an endpoint's deliveries.

        Each attempt's status, answer code and next retry. Reads only.
        """
        endpoint = self.get_endpoint(pk)
        deliveries = self.filter_queryset(self.get_queryset().filter(endpoint=endpoint))
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliveryOutput(page, many=True).data)


class WebhookDeliveryReplayView(WebhookAdminView):
    serializer_class = WebhookDeliveryOutput
    pagination_class = None

    @extend_schema(
        operation_id="admin_webhooks_deliveries_replay",
        tags=TAGS,
        request=None,
        responses={202: WebhookDeliveryOutput},
    )
    @raises(InvalidTransition)
    @idempotent
    def post(self, request: Request, pk: str) -> Response:
        """Send a webhook delivery again.

        Queues the same event (same `id`) for delivery now. 202: it is sent in the background.
        """
        delivery = None
        if is_id(pk):
            delivery = webhook_delivery_list(channel_code=self.limited_code).filter(pk=pk).first()
        if delivery is None:
            raise NotFound("No such webhook delivery.")
        delivery = delivery_replay(delivery=delivery)
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class EventFilter(django_filters.FilterSet):
    type = django_filters.CharFilter()
    channel = django_filters.CharFilter(field_name="channel_code")
    aggregate = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = OutboxEvent
        fields: list[str] = []


class EventListView(WebhookAdminView):
    """Every recorded event, oldest first: what a receiver that was down missed."""

    serializer_class = OutboxEventOutput
    filterset_class = EventFilter

    def get_queryset(self) -> QuerySet[OutboxEvent]:
        return event_list(channel_code=self.limited_code)

    @extend_schema(operation_id="admin_events_list", tags=TAGS)
    def get(self, request: Request) -> Response:
        """List recorded events, oldest first.

        Every event the webhooks carry, to reconcile what a receiver missed while it was down.
        Reads only.
        """
        events = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OutboxEventOutput(events, many=True).data)


class EventDetailView(WebhookAdminView):
    serializer_class = OutboxEventOutput
    pagination_class = None

    @extend_schema(operation_id="admin_events_retrieve", tags=TAGS)
    def get(self, request: Request, pk: str) -> Response:
        """Get a recorded event.

        Reads only.
        """
        try:
            event_id = uuid.UUID(pk)
        except ValueError:
            event_id = None
        event = event_list(channel_code=self.limited_code).filter(pk=event_id).first()
        if event_id is None or event is None:
            raise NotFound("No such event.")
        return Response(OutboxEventOutput(event).data)
