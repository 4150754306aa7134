"""Courier access: a courier's least-privilege token for the orders they deliver."""

from __future__ import annotations

from django.db import models

from orders.models.orders import Order


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
