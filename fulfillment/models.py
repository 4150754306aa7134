"""Fulfillment models: shipments of an order from one warehouse, returns, and sent notifications."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from backoffice.fields import money_field
from inventory.models import Warehouse
from orders.models import Order, OrderLine


class Fulfillment(models.Model):
    """Units of an order leaving one warehouse: pending → packed → shipped → delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fulfillments")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Fulfillment {self.pk} of order #{self.order.number}"


# The actions each fulfillment status allows.
FULFILLMENT_TRANSITIONS: dict[str, set[str]] = {
    Fulfillment.Status.PENDING: {"pack", "ship", "cancel"},
    Fulfillment.Status.PACKED: {"ship", "cancel"},
    Fulfillment.Status.SHIPPED: {"deliver"},
    Fulfillment.Status.DELIVERED: set(),
    Fulfillment.Status.CANCELLED: set(),
}


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfillment_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line.sku}"


class Return(models.Model):
    """Units a customer sent back, whether they go back on the shelf, and what was refunded."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(max_length=500)
    restock = models.BooleanField(default=True)
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_amount = money_field(default=0)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Return {self.pk} of order #{self.order.number}"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line.sku}"


class Notification(models.Model):
    """A customer email, recorded once per order and kind so a retried job never sends twice."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Order placed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reference = models.CharField(max_length=50, blank=True, help_text="e.g. the fulfillment id")
    recipient = models.EmailField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # A worker sending it holds it until then; a worker that died lets it go at that time.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "reference"], name="notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} email for order #{self.order.number}"
