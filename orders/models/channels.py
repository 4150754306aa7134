"""What channels add around orders: shop links and their clicks, order messages,
courier access, and the sales report (a proxy for the admin page)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from catalog.models import Channel, ProductVariant
from orders.models.checkout import Voucher
from orders.models.orders import Order


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
