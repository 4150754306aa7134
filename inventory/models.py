"""Inventory models.

`available = on_hand - allocated - active reservations`; the database refuses
any row that would make `on_hand`, `allocated` or `reserved_units` negative or `allocated`
exceed `on_hand`, and services lock stock rows before they decide. `reserved_units` is the
units of every reservation row of the level (expired ones not yet purged included), kept
by each statement that writes a reservation (`inventory.services.holds`).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from catalog.models import Channel, ProductVariant
from inventory.codes import WAREHOUSE_CODE_TAKEN, warehouse_code_validator


class Warehouse(models.Model):
    """A place that holds stock: a warehouse, or a store that also sells at its POS."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"

    # Kept as typed; unique and looked up ignoring case (inventory.codes).
    code = models.CharField(max_length=50, validators=[warehouse_code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)
    address = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    channels = models.ManyToManyField(
        Channel, through="WarehouseChannel", related_name="warehouses", blank=True
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                Lower("code"),
                name="warehouse_code_unique_ignoring_case",
                violation_error_message=WAREHOUSE_CODE_TAKEN,
            )
        ]

    def __str__(self) -> str:
        return self.name or self.code


class WarehouseChannel(models.Model):
    """A warehouse serves a channel; lower `priority` is tried first when routing."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    priority = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["channel_id", "priority", "warehouse_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["warehouse", "channel"], name="warehouse_channel_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.warehouse} serves {self.channel} (priority {self.priority})"


class StockLevel(models.Model):
    """Units of one variant in one warehouse: counted (`on_hand`) and promised to orders."""

    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="stock")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    # The units of this level's reservation rows, expired but not yet purged ones included:
    # what lets a hold be one conditional UPDATE of this row (`inventory.available`).
    reserved_units = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        permissions = [("transfer_stock", "Can move stock between warehouses")]
        constraints = [
            models.UniqueConstraint(fields=["variant", "warehouse"], name="stock_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0), name="stock_allocated_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="stock_allocated_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(reserved_units__gte=0), name="stock_reserved_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} in {self.warehouse}"


class Reservation(models.Model):
    """A temporary hold on stock for a cart (or a link's allotment) until `expires_at`.

    `holder` is an opaque reference such as "cart:<uuid>"; expired rows stop
    counting at once and are deleted later by a periodic task.
    """

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.CASCADE, related_name="reservations"
    )
    holder = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stock_level", "holder"], name="reservation_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_positive"),
        ]
        indexes = [
            models.Index(fields=["holder"]),
            models.Index(fields=["stock_level", "expires_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} held by {self.holder} until {self.expires_at:%H:%M:%S}"


class Allocation(models.Model):
    """Stock promised to a placed order (`holder` "order:<id>") until it ships or is cancelled."""

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="allocations"
    )
    holder = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stock_level", "holder"], name="allocation_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="allocation_positive"),
        ]
        indexes = [
            models.Index(fields=["holder"]),
            # The sweep of checkouts' orphaned allocations: a handful of rows at any time.
            models.Index(
                fields=["created_at"],
                condition=Q(holder__startswith="checkout:"),
                name="allocation_checkout_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} allocated to {self.holder}"


class StockMovement(models.Model):
    """One append-only line of the stock ledger: every change to `on_hand`, and why."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale / shipment"
        RETURN = "return", "Return"
        ADJUSTMENT = "adjustment", "Adjustment"
        STOCKTAKE = "stocktake", "Stocktake"
        TRANSFER = "transfer", "Transfer"

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    delta = models.IntegerField()
    on_hand_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["reference"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.delta:+d}"
