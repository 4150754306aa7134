"""Checkout set-up and carts: shipping methods, vouchers, carts and their lines."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from backoffice.fields import code_validator, currency_validator, money_field
from catalog.models import Channel, ProductVariant
from inventory.models import Warehouse

VOUCHER_CODE_TAKEN = "A voucher with this code exists (codes are unique ignoring case)."


class ShippingMethod(models.Model):
    """How an order reaches the customer: shipped at a flat rate (free over a threshold),
    picked up at a store, delivered digitally (nothing is shipped, e.g. gift cards), or
    brought on demand by couriers (`local_delivery`: its delivery zone sets the fee).

    A flat rate and on-demand delivery ship goods, so they need a shipping address
    (`orders.delivery`).
    """

    class Kind(models.TextChoices):
        FLAT_RATE = "flat_rate", "Flat rate"
        PICKUP = "pickup", "Pickup in store"
        DIGITAL = "digital", "Digital delivery"
        LOCAL_DELIVERY = "local_delivery", "On-demand delivery"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="shipping_methods")
    code = models.CharField(max_length=50, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.FLAT_RATE)
    price = money_field(default=0)
    free_over = money_field(null=True, blank=True, help_text="Free when the subtotal reaches this.")
    pickup_warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["channel_id", "price", "code"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "code"], name="shipping_method_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"


class Voucher(models.Model):
    """A discount code: a percentage or a fixed amount, with a window, channels and a usage cap.

    A voucher with money in its terms (a fixed amount, a minimum subtotal) names the
    currency of that money and applies only in channels of that currency: the amounts
    are exact in it. A percentage alone needs no currency and applies in any channel.
    """

    # Places a percentage keeps (12.5 % and 33.33 % are fine whatever the currency), and
    # the step they make (0.01), to which a percentage is checked and shown.
    PERCENT_PLACES = 2
    PERCENT_STEP = Decimal(1).scaleb(-PERCENT_PLACES)

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage"
        FIXED = "fixed", "Fixed amount"

    # Unique ignoring case (the constraint below), as shoppers type it and checkout finds it.
    code = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = money_field(help_text="Percent (e.g. 12.5) or an amount in the voucher's currency.")
    min_subtotal = money_field(null=True, blank=True, help_text="In the voucher's currency.")
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        validators=[currency_validator],
        help_text="Of the fixed amount and the minimum subtotal; the voucher applies only in "
        "channels of this currency. Blank: the channels' currency (or the default one).",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    channels = models.ManyToManyField(
        Channel, blank=True, related_name="vouchers", help_text="Empty: every channel."
    )
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    used_count = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(used_count__lte=models.F("usage_limit")),
                name="voucher_usage_within_limit",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="voucher_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="voucher_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=~Q(currency="") | (~Q(kind="fixed") & Q(min_subtotal__isnull=True)),
                name="voucher_money_terms_have_a_currency",
            ),
            models.UniqueConstraint(
                Upper("code"),
                name="voucher_code_unique_ignoring_case",
                violation_error_message=VOUCHER_CODE_TAKEN,
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Cart(models.Model):
    """A shopper's cart in one channel; its lines hold stock until `reserved_until`."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="carts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    shipping_method = models.ForeignKey(
        ShippingMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attribution = models.JSONField(default=dict, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Cart {str(self.id)[:8]}"

    @property
    def holder(self) -> str:
        """How inventory names this cart's reservations."""
        return f"cart:{self.id}"


class CartLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant.sku}"
