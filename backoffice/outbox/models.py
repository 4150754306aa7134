"""Outbox rows: one per domain event, in commit order, delivered by a dispatcher later."""

from __future__ import annotations

import uuid

from django.db import models


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
