"""Delivery models: zones around stores, scheduled slots, couriers, deliveries and offers.

A zone belongs to one store or warehouse (where couriers pick up) and is a radius
around its location or a list of postal codes. A delivery is one order's trip from
its zone's store to the customer; it moves through DELIVERY_TRANSITIONS. The courier's
position is personal data: it is kept on the delivery (last known) and in
DeliveryLocation (the track) only while the delivery is active, and erased
DELIVERY_LOCATION_RETENTION_DAYS after it ended.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from backoffice.exceptions import InvalidTransition
from backoffice.fields import code_validator, money_field
from inventory.models import Warehouse
from orders.models import FulfillerAccess, Order


class DeliveryZone(models.Model):
    """Where a store delivers, for how much, from what order value, how fast, and when."""

    class Kind(models.TextChoices):
        RADIUS = "radius", "Radius around the store"
        POSTAL_CODES = "postal_codes", "Postal codes"

    class Proof(models.TextChoices):
        PIN = "pin", "PIN only"
        PHOTO = "photo", "Photo only"
        PIN_OR_PHOTO = "pin_or_photo", "PIN or photo"

    code = models.CharField(max_length=50, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RADIUS)
    latitude = models.FloatField(null=True, blank=True, help_text="The store's location.")
    longitude = models.FloatField(null=True, blank=True)
    radius_meters = models.PositiveIntegerField(null=True, blank=True)
    postal_codes = models.JSONField(default=list, blank=True)
    country = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3)
    fee = money_field(default=0)
    free_over = money_field(null=True, blank=True)
    minimum_order = money_field(default=0)
    preparation_minutes = models.PositiveIntegerField(default=10)
    speed_kmh = models.PositiveIntegerField(default=15, help_text="A courier's average speed.")
    travel_minutes = models.PositiveIntegerField(
        default=15, help_text="Travel time when the distance is not known (postal codes only)."
    )
    opening_hours = models.JSONField(
        default=dict, blank=True, help_text='{"mon": [["09:00", "21:00"]], ...}; empty: always.'
    )
    timezone = models.CharField(max_length=64, default="UTC")
    proof = models.CharField(max_length=20, choices=Proof.choices, default=Proof.PIN_OR_PHOTO)
    provider = models.CharField(
        max_length=30, default="couriers", help_text="Who delivers: the shop's couriers."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="zone_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(minimum_order__gte=0), name="zone_minimum_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DeliverySlot(models.Model):
    """A window a scheduled delivery arrives in; `booked` never passes `capacity`."""

    zone = models.ForeignKey(DeliveryZone, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="slot_booked_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"
            ),
            models.UniqueConstraint(fields=["zone", "starts_at"], name="slot_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)


class Courier(models.Model):
    """One of the shop's couriers: signs in with a fulfiller token, says when available."""

    access = models.OneToOneField(FulfillerAccess, on_delete=models.PROTECT, related_name="courier")
    warehouses = models.ManyToManyField(Warehouse, related_name="+", blank=True)
    available = models.BooleanField(default=False)
    available_since = models.DateTimeField(null=True, blank=True)
    missed_offers = models.PositiveIntegerField(default=0, help_text="Expired offers in a row.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["available", "available_since"])]

    def __str__(self) -> str:
        return self.access.name

    @property
    def name(self) -> str:
        return self.access.name


class Delivery(models.Model):
    """One order's trip from its zone's store to the customer's door."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Waiting for a courier"
        OFFERED = "offered", "Offered to a courier"
        ASSIGNED = "assigned", "Courier on the way to the store"
        PICKED_UP = "picked_up", "On the way"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class ProofKind(models.TextChoices):
        PIN = "pin", "PIN"
        PHOTO = "photo", "Photo"
        STAFF = "staff", "Confirmed by staff"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="delivery")
    zone = models.ForeignKey(DeliveryZone, on_delete=models.PROTECT, related_name="deliveries")
    slot = models.ForeignKey(
        DeliverySlot, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    provider = models.CharField(max_length=30, default="couriers")
    external_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    courier = models.ForeignKey(
        Courier, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    dropoff_latitude = models.FloatField(null=True, blank=True)
    dropoff_longitude = models.FloatField(null=True, blank=True)
    distance_meters = models.PositiveIntegerField(null=True, blank=True)
    ready_at = models.DateTimeField(help_text="When the order is ready at the store.")
    dispatch_at = models.DateTimeField(help_text="When couriers start being offered it.")
    estimated_earliest = models.DateTimeField()
    estimated_latest = models.DateTimeField()
    courier_latitude = models.FloatField(null=True, blank=True)
    courier_longitude = models.FloatField(null=True, blank=True)
    courier_located_at = models.DateTimeField(null=True, blank=True)
    pin = models.CharField(max_length=200, help_text="Encrypted; the customer's to tell.")
    pin_attempts = models.PositiveSmallIntegerField(default=0)
    proof_kind = models.CharField(max_length=10, choices=ProofKind.choices, blank=True)
    proof_photo_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    locations_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "dispatch_at"]),
            models.Index(fields=["zone", "status"]),
        ]

    def __str__(self) -> str:
        return f"Delivery of #{self.order.number}"

    @property
    def active(self) -> bool:
        return self.status not in (self.Status.DELIVERED, self.Status.CANCELLED)


# The actions each delivery status allows.
DELIVERY_TRANSITIONS: dict[str, set[str]] = {
    Delivery.Status.SCHEDULED: {"queue", "assign", "cancel"},
    Delivery.Status.QUEUED: {"offer", "assign", "cancel"},
    Delivery.Status.OFFERED: {"accept", "requeue", "assign", "cancel"},
    Delivery.Status.ASSIGNED: {"pickup", "drop", "assign", "requeue", "cancel", "locate"},
    Delivery.Status.PICKED_UP: {"complete", "locate"},
    Delivery.Status.DELIVERED: set(),
    Delivery.Status.CANCELLED: set(),
}


def delivery_action_check(delivery: Delivery, action: str) -> None:
    """Raise InvalidTransition (409) unless the delivery's status allows `action`."""
    if action not in DELIVERY_TRANSITIONS[delivery.status]:
        raise InvalidTransition(entity="delivery", current=delivery.status, action=action)


class DeliveryOffer(models.Model):
    """A delivery offered to one courier until `expires_at`; one open offer per delivery
    and per courier at a time (the database holds both)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"
        DROPPED = "dropped", "Accepted, then dropped"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="offers")
    courier = models.ForeignKey(Courier, on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery"],
                condition=Q(status="pending"),
                name="offer_one_pending_per_delivery",
            ),
            models.UniqueConstraint(
                fields=["courier"],
                condition=Q(status="pending"),
                name="offer_one_pending_per_courier",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Offer {self.pk} of delivery {self.delivery_id} to courier {self.courier_id}"


class DeliveryLocation(models.Model):
    """One position a courier posted while on the delivery (erased with the delivery's track)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="locations")
    latitude = models.FloatField()
    longitude = models.FloatField()
    accuracy_meters = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["delivery", "id"])]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.recorded_at}"


class CartDelivery(models.Model):
    """A cart's choice of delivery slot (none: as soon as possible).

    `slot_withdrawn`: the shop deleted the slot chosen (`delivery.setup.slot_delete`); the
    cart does not fall back to "as soon as possible" unasked, its answer and its checkout
    say the slot is gone until a slot (or none) is chosen again.
    """

    cart = models.OneToOneField("orders.Cart", on_delete=models.CASCADE, related_name="delivery")
    slot = models.ForeignKey(DeliverySlot, null=True, blank=True, on_delete=models.SET_NULL)
    slot_withdrawn = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.cart_id}: {self.slot_id or 'asap'}"
