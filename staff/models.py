"""A staff member's scope (which channels and warehouses they see) and refund limits.

Roles are Django groups (`staff.roles`); the scope is per person, because two store
managers share a role but not a store.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from backoffice.fields import currency_validator, money_field
from catalog.models import Channel
from inventory.models import Warehouse


class StaffProfile(models.Model):
    """Where a staff member works. Without a profile, only a superuser sees anything."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    all_channels = models.BooleanField(
        default=False, help_text="Sees what is sold in every channel (owners, head of support)."
    )
    channels = models.ManyToManyField(
        Channel,
        blank=True,
        related_name="+",
        help_text="Sees orders, links and stock of these channels only.",
    )
    all_warehouses = models.BooleanField(
        default=False, help_text="Sees every warehouse and store, and what ships from them."
    )
    warehouses = models.ManyToManyField(
        Warehouse,
        blank=True,
        related_name="+",
        help_text="A store manager's store, a picker's warehouse: its stock, shipments, "
        "pickups and till sales.",
    )

    class Meta:
        verbose_name = "scope"
        verbose_name_plural = "scopes"

    def __str__(self) -> str:
        return f"Scope of {self.user}"


class RefundLimit(models.Model):
    """The most a staff member may give back in one refund (or cancellation), per currency.

    A staff member with no limits refunds without one (their role must still allow
    refunds); with limits, a refund in a currency that has none is refused.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refund_limits"
    )
    currency = models.CharField(max_length=3, validators=[currency_validator], default="USD")
    amount = money_field(validators=[MinValueValidator(Decimal(0))])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="refund_limit_unique")
        ]
        ordering = ["currency"]

    def __str__(self) -> str:
        from backoffice.money import money_format

        return f"Refunds up to {money_format(self.amount, self.currency)}"
