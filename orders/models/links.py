"""Shop links: the link, the lines it puts in each cart, and every tap on its public URL."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from catalog.models import Channel, ProductVariant
from orders.models.checkout import Voucher


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
        return f"{self.quantity} x {self.variant.sku}"


class ShopLinkClick(models.Model):
    """One tap on a link's public URL, so conversion can be reported for any period."""

    link = models.ForeignKey(ShopLink, on_delete=models.CASCADE, related_name="click_rows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["link", "created_at"])]

    def __str__(self) -> str:
        return f"Click on {self.link} at {self.created_at:%Y-%m-%d %H:%M}"
