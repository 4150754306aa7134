"""Order messages: the thread of an order between its customer, staff, courier and system."""

from __future__ import annotations

from django.db import models

from orders.models.orders import Order


class OrderMessage(models.Model):
    """One message of an order's thread; the body is stored as written and masked on output."""

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"
        FULFILLER = "fulfiller", "Fulfiller"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        LOCATION = "location", "Location share"
        PHOTO = "photo", "Photo"
        PIN = "pin", "Delivery PIN (the customer's only)"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    data = models.JSONField(
        default=dict, blank=True, help_text="A location's coordinates or a photo's URL."
    )
    author_role = models.CharField(max_length=20, choices=Role.choices)
    author_name = models.CharField(max_length=200, blank=True)
    author_ref = models.CharField(max_length=150, blank=True, help_text="Who wrote it.")
    body = models.TextField()
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return f"{self.get_author_role_display()} message on {self.order}"
