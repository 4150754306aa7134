"""Placed orders: lines with the price paid, payments, the timeline and allowed moves.

Order lines copy the SKU, name and unit price at placement, so later catalog
changes never rewrite what a customer bought. Status moves are listed in
ORDER_TRANSITIONS; `orders.services` is the only code that changes them.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from backoffice.fields import money_field
from backoffice.money import money_format
from catalog.models import Channel, ProductVariant
from orders.models.checkout import Cart, ShippingMethod, Voucher


class Order(models.Model):
    """A placed order. `token` is the customer's unguessable key to it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # Placed with a card payment the customer still confirms with the PSP; holds its stock
        # until `payment_due_at`, then expires (cancelled) unless paid.
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        AUTHORIZED = "authorized", "Authorized"
        PAID = "paid", "Paid"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    class FulfillmentStatus(models.TextChoices):
        UNFULFILLED = "unfulfilled", "Unfulfilled"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        RETURNED = "returned", "Returned"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    cart = models.OneToOneField(
        Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    fulfillment_status = models.CharField(
        max_length=20, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    currency = models.CharField(max_length=3)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    shipping_method = models.ForeignKey(
        ShippingMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_method_name = models.CharField(max_length=200, blank=True)
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    voucher_code = models.CharField(max_length=50, blank=True)
    subtotal = money_field()
    shipping = money_field()
    discount = money_field()
    tax = money_field()
    total = money_field()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    prices_include_tax = models.BooleanField(default=False)
    source = models.CharField(max_length=20, default="checkout")
    attribution = models.JSONField(default=dict, blank=True)
    placed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The end of the payment window of an order in `pending_payment`.
    payment_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("capture_order", "Can capture an order's payment"),
            ("refund_order", "Can refund an order"),
            ("cancel_order", "Can cancel an order"),
            ("fulfill_order", "Can plan an order's shipments"),
        ]
        indexes = [
            models.Index(fields=["channel", "created_at"]),
            models.Index(fields=["status", "payment_status", "created_at"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return f"Order #{self.number}"

    @property
    def number(self) -> str:
        """The human-friendly order number, e.g. "100042"."""
        return str(ORDER_NUMBER_OFFSET + self.pk) if self.pk else ""

    @property
    def holder(self) -> str:
        """How inventory names this order's allocations."""
        return f"order:{self.pk}"


ORDER_NUMBER_OFFSET = 100000

# The order actions each status allows; everything else is an invalid transition.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    # Cash on delivery: a pending order may ship, and is captured on delivery.
    Order.Status.PENDING: {"confirm", "cancel", "capture", "fulfill"},
    # Waiting for the PSP: paid (its webhook, the client's confirm), or cancelled / expired.
    Order.Status.PENDING_PAYMENT: {"pay", "cancel"},
    Order.Status.CONFIRMED: {"cancel", "capture", "refund", "fulfill", "complete"},
    Order.Status.COMPLETED: {"refund"},
    Order.Status.CANCELLED: set(),
}


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField()
    unit_price = money_field()
    total = money_field()
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_positive"),
            models.CheckConstraint(
                condition=Q(quantity_fulfilled__lte=models.F("quantity")),
                name="order_line_fulfilled_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Payment(models.Model):
    """Money for an order through one provider; amounts never exceed what the step allows."""

    class Status(models.TextChoices):
        # A payment session the customer confirms with the PSP; its outcome is not known yet.
        PENDING = "pending", "Pending"
        AUTHORIZED = "authorized", "Authorized"
        CAPTURED = "captured", "Captured"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    provider = models.CharField(max_length=30)
    method = models.CharField(max_length=50, blank=True, help_text="e.g. cash, card, bank transfer")
    status = models.CharField(max_length=30, choices=Status.choices)
    currency = models.CharField(max_length=3)
    amount = money_field()
    captured_amount = money_field(default=0)
    refunded_amount = money_field(default=0)
    reference = models.CharField(max_length=200, blank=True, help_text="The PSP's reference")
    # What the customer's client needs to confirm the session with the PSP (Stripe's
    # PaymentIntent `client_secret`); shown only on the customer's order view.
    client_secret = models.CharField(max_length=300, blank=True)
    capture_method = models.CharField(max_length=10, default="automatic")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["provider", "reference"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(captured_amount__lte=models.F("amount")), name="capture_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("captured_amount")),
                name="refund_within_captured",
            ),
        ]

    def __str__(self) -> str:
        amount = money_format(self.amount, self.currency)
        status = self.get_status_display().lower()
        return f"{self.provider.title()} payment of {amount} ({status})"


class OrderEvent(models.Model):
    """One append-only line of an order's timeline."""

    class Type(models.TextChoices):
        PLACED = "placed", "Placed"
        PAYMENT_PENDING = "payment_pending", "Waiting for payment"
        PAYMENT_AUTHORIZED = "payment_authorized", "Payment authorized"
        PAYMENT_FAILED = "payment_failed", "Payment attempt failed"
        PAYMENT_EXPIRED = "payment_expired", "Payment window passed"
        PAID = "paid", "Paid"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"
        NOTE_ADDED = "note_added", "Note added"
        ADDRESS_CHANGED = "address_changed", "Delivery address changed"
        FULFILLMENT_CREATED = "fulfillment_created", "Fulfillment created"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        COMPLETED = "completed", "Completed"
        RETURNED = "returned", "Returned"
        COURIER_UPDATE = "courier_update", "Courier update"
        DELIVERY_ESTIMATE = "delivery_estimate", "Delivery estimate"
        COURIER_ASSIGNED = "courier_assigned", "Courier assigned"
        COURIER_UNASSIGNED = "courier_unassigned", "Courier unassigned"
        DELIVERY_PROOF = "delivery_proof", "Proof of delivery"
        DELIVERY_PIN_REFUSED = "delivery_pin_refused", "Wrong delivery PIN"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=Type.choices)
    actor = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} at {self.created_at:%Y-%m-%d %H:%M}"


# --- Channel features: shop links, order messages, fulfiller access -------------------
