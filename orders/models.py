"""Orders models: shipping methods, vouchers, carts, orders with lines, payments and events.

Order lines copy the SKU, name and unit price at placement, so later catalog
changes never rewrite what a customer bought. Status moves are listed in
ORDER_TRANSITIONS; `orders.services` is the only code that changes them.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q

from catalog.models import Channel, ProductVariant, code_validator, money_field
from inventory.models import Warehouse


class ShippingMethod(models.Model):
    """How an order reaches the customer: a flat rate (free over a threshold) or pickup."""

    class Kind(models.TextChoices):
        FLAT_RATE = "flat_rate", "Flat rate"
        PICKUP = "pickup", "Pickup in store"

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
        return f"{self.channel_id}:{self.code}"


class Voucher(models.Model):
    """A discount code: a percentage or a fixed amount, with a window, channels and a usage cap."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage"
        FIXED = "fixed", "Fixed amount"

    code = models.CharField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = money_field(help_text="Percent (e.g. 10) or an amount in the channel currency.")
    min_subtotal = money_field(null=True, blank=True)
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
        return str(self.id)

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
        return f"{self.quantity} x {self.variant_id}"


class Order(models.Model):
    """A placed order. `token` is the customer's unguessable key to it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["channel", "created_at"]),
            models.Index(fields=["status", "payment_status", "created_at"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

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
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
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
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"


class OrderEvent(models.Model):
    """One append-only line of an order's timeline."""

    class Type(models.TextChoices):
        PLACED = "placed", "Placed"
        PAYMENT_AUTHORIZED = "payment_authorized", "Payment authorized"
        PAID = "paid", "Paid"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"
        NOTE_ADDED = "note_added", "Note added"
        FULFILLMENT_CREATED = "fulfillment_created", "Fulfillment created"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        COMPLETED = "completed", "Completed"
        RETURNED = "returned", "Returned"
        COURIER_UPDATE = "courier_update", "Courier update"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=Type.choices)
    actor = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M}"


# --- Channel features: shop links, order messages, fulfiller access -------------------


def link_code_new() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


class ShopLink(models.Model):
    """A "shop now" link under a post: ready-made cart lines, campaign data, optional allotment.

    With `allotment_until`, the lines' `allotment` units are ring-fenced for the link as
    inventory reservations held by `link:<code>` until then; only the link's carts take them.
    """

    code = models.CharField(max_length=64, unique=True, default=link_code_new, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="shop_links")
    name = models.CharField(max_length=200, blank=True)
    campaign = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"post": "...", "source": "instagram"}'
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    allotment_until = models.DateTimeField(
        null=True, blank=True, help_text="Ring-fence the lines' allotment units until then."
    )
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many orders through the link."
    )
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    clicks = models.PositiveIntegerField(default=0)
    carts_count = models.PositiveIntegerField(default=0)
    orders_count = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def holder(self) -> str:
        """How inventory names the link's ring-fenced stock."""
        return f"link:{self.code}"


class ShopLinkLine(models.Model):
    """A variant the link puts in each cart, and how many units it ring-fences in all."""

    link = models.ForeignKey(ShopLink, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    allotment = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["link", "variant"], name="shop_link_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shop_link_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class ShopLinkClick(models.Model):
    """One tap on a link's public URL, so conversion can be reported for any period."""

    link = models.ForeignKey(ShopLink, on_delete=models.CASCADE, related_name="click_rows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["link", "created_at"])]

    def __str__(self) -> str:
        return f"{self.link_id} at {self.created_at}"


class OrderMessage(models.Model):
    """One message of an order's thread; the body is stored as written and masked on output."""

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"
        FULFILLER = "fulfiller", "Fulfiller"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
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
        return f"{self.author_role} on {self.order_id}"


class FulfillerAccess(models.Model):
    """A courier's least-privilege token (`ft_...`, stored hashed) for some orders.

    Access ends at `expires_at`, and for each order some hours after it was completed
    or cancelled (`hours_after_completion`).
    """

    name = models.CharField(
        max_length=200, help_text="Shown to the customer, e.g. 'Sam (courier)'."
    )
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    orders = models.ManyToManyField(Order, related_name="fulfiller_accesses")
    expires_at = models.DateTimeField()
    hours_after_completion = models.PositiveIntegerField(default=48)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "fulfiller accesses"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def actor(self) -> str:
        return f"fulfiller:{self.pk}"


class SalesReport(Order):
    """Orders seen as the "Sales by channel" page of the Django admin (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "sales by channel"
        verbose_name_plural = "sales by channel"
