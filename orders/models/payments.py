"""What the payment providers told us, and the money movements we asked them for.

`PaymentEvent`: one row per PSP event received (a webhook) or state read back (the
client's confirm, reconciliation), so the order page shows what the PSP said and a
redelivered event is recognised by its id. `PaymentOperation`: a capture, refund or
cancel asked of the PSP, written (and committed) before the call with the idempotency
key the PSP is given, so a retry after a network error reuses the key and the PSP
moves the money once; its outcome is written after the answer.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from catalog.models import money_field
from orders.models.orders import Order, Payment


class PaymentEvent(models.Model):
    """Something a provider said about a payment session."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        CONFIRM = "confirm", "Client confirm"
        RECONCILE = "reconcile", "Reconciliation"
        STAFF = "staff", "Staff action"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_events")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    provider = models.CharField(max_length=30)
    source = models.CharField(max_length=10, choices=Source.choices)
    # The PSP's event id (webhooks): a redelivery of the same event is not recorded twice.
    event_id = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=100)
    # The session's state as the PSP gave it (e.g. succeeded, requires_capture, canceled).
    state = models.CharField(max_length=50, blank=True)
    amount = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    outcome = models.CharField(max_length=200, blank=True, help_text="What it changed here")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=~Q(event_id=""),
                name="payment_event_once_per_psp_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type}"


class PaymentOperation(models.Model):
    """A capture, refund or cancel asked of the PSP; `key` is the idempotency key it was given."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        CANCEL = "cancel", "Cancel"

    class Status(models.TextChoices):
        # Asked, or about to be; no answer yet (a network error leaves it here until retried).
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    amount = money_field()
    key = models.CharField(max_length=255, unique=True, default=uuid.uuid4)
    reference = models.CharField(max_length=200, blank=True, help_text="The PSP's reference")
    error = models.CharField(max_length=500, blank=True)
    # How often the PSP was asked; a second ask first looks for what the first one did.
    attempts = models.PositiveSmallIntegerField(default=0)
    actor = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # Whether its success is announced on its own (a refund that is part of a cancel is not:
    # `order.cancelled` says it).
    announce = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_operation_amount")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.status})"
