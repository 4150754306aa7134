"""Admin serializers for webhook endpoints, deliveries and outbox events (input and output)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice.outbox.models import (
    ALL_EVENTS,
    EVENT_TYPES,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from backoffice.outbox.webhook_services import MAX_PREVIOUS_SECRET_SECONDS
from catalog.models import Channel

EVENT_CHOICES = [*EVENT_TYPES, ALL_EVENTS]


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=50,
        help_text='Event types to receive, or ["*"] for all: ' + ", ".join(EVENT_CHOICES),
    )
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False, allow_null=True
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookRotateSecretInput(serializers.Serializer):
    previous_secret_valid_for = serializers.IntegerField(
        min_value=0,
        max_value=MAX_PREVIOUS_SECRET_SECONDS,
        required=False,
        help_text="Seconds the old secret keeps signing (default 86400; 0 drops it now).",
    )


class WebhookEndpointOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    events = serializers.ListField(source="event_types", child=serializers.CharField())
    channel = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "channel",
            "active",
            "consecutive_failures",
            "disabled_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_channel(self, endpoint: WebhookEndpoint) -> str | None:
        return endpoint.channel_code or None


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    """Only in the answers to create and rotate-secret: the signing secret, shown once."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookEndpointOutput.Meta):
        fields = [*WebhookEndpointOutput.Meta.fields, "secret"]


class OutboxEventOutput(serializers.ModelSerializer):
    """The same shape as a webhook body."""

    id = serializers.CharField(read_only=True)
    channel = serializers.SerializerMethodField()

    class Meta:
        model = OutboxEvent
        fields = ["id", "type", "created_at", "sequence", "aggregate", "channel", "data"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_channel(self, event: OutboxEvent) -> str | None:
        return event.channel_code or None


class WebhookDeliveryEventOutput(OutboxEventOutput):
    class Meta(OutboxEventOutput.Meta):
        fields = ["id", "type", "created_at", "sequence", "aggregate", "channel"]


class WebhookDeliveryOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    endpoint = serializers.CharField(source="endpoint_id", read_only=True)
    event = WebhookDeliveryEventOutput(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_response_ms",
            "last_error",
            "delivered_at",
            "created_at",
            "updated_at",
        ]
