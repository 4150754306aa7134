"""Point-of-sale models: each till sale recorded once by its client id, or flagged for staff."""

from __future__ import annotations

from django.db import models

from catalog.models import Channel
from inventory.models import Warehouse
from orders.models import Order


class PosSale(models.Model):
    """One sale from a till, keyed by the till's `client_id` so an upload is processed once.

    `recorded`: it became an order (fulfilled and completed at once). `flagged`: it could
    not (no stock any more, an unknown SKU...) and waits for staff; `resolved`: staff dealt
    with it.
    """

    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded"
        FLAGGED = "flagged", "Flagged for staff"
        RESOLVED = "resolved", "Resolved by staff"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="pos_sales")
    client_id = models.CharField(max_length=100)
    store = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="pos_sales"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="pos_sale"
    )
    reason = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The sale as the till sent it.")
    sold_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "client_id"], name="pos_sale_unique")
        ]
        indexes = [models.Index(fields=["status", "created_at"])]
        verbose_name = "POS sale"

    def __str__(self) -> str:
        return f"Till sale {self.client_id} ({self.get_status_display().lower()})"
