"""Outbox rows (one per domain event) and the webhook endpoints and deliveries they fan out to."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models

from backoffice.crypto import EncryptedTextField


class OutboxEvent(models.Model):
    """A domain event such as `order.created`; `id` stays the same on every delivery retry.

    `aggregate` names what the event is about ("order:42"); `sequence` counts the
    aggregate's events from 1, so receivers can order and de-duplicate them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    channel_code = models.CharField(max_length=50, blank=True, db_index=True)
    aggregate = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField()
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["aggregate", "sequence"], name="outbox_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate}#{self.sequence}"


# Event types a webhook endpoint may subscribe to; "*" means all of them.
EVENT_TYPES = (
    "order.created",
    "order.confirmed",
    "order.cancelled",
    "order.paid",
    "order.refunded",
    "fulfillment.created",
    "fulfillment.shipped",
    "fulfillment.delivered",
    "return.created",
    "refund.created",
    "stock.low",
    "message.created",
    "api_key.expiring",
)
ALL_EVENTS = "*"


class WebhookEndpoint(models.Model):
    """A receiver URL for some event types, optionally for one channel's events only.

    The signing `secret` is encrypted at rest (`backoffice.crypto`) and decrypted
    to sign each delivery (HMAC); while a rotation is in progress `previous_secret` signs too, until
    `previous_secret_expires_at`. `consecutive_failures` counts failed attempts in
    a row; too many disable the endpoint (`active` off, `disabled_at` set).
    """

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text='Event types, or ["*"] for all.')
    channel_code = models.CharField(
        max_length=50, blank=True, help_text="Only this channel's events; empty for all."
    )
    active = models.BooleanField(default=True)
    secret = EncryptedTextField(editable=False)
    previous_secret = EncryptedTextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: OutboxEvent) -> bool:
        """Whether this endpoint subscribes to the event (type and channel)."""
        if self.channel_code and self.channel_code != event.channel_code:
            return False
        return ALL_EVENTS in self.event_types or event.type in self.event_types

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery now: the current one, then the previous one."""
        secrets = [self.secret]
        expires_at = self.previous_secret_expires_at
        if self.previous_secret and expires_at is not None and expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, with its retry state; at most one per pair.

    `pending` waits for its first attempt, `failed` for a retry at `next_attempt_at`,
    `succeeded` got a 2xx, `abandoned` ran out of retries or lost its endpoint.
    `queued_until` is internal: a worker task was queued for it, do not queue another
    before then.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"

    OPEN = (Status.PENDING, Status.FAILED)

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            # The retention purge's question: finished deliveries last touched long ago.
            models.Index(
                fields=["updated_at"],
                name="webhook_delivery_finished",
                condition=models.Q(status__in=["succeeded", "abandoned"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
