"""Delivery set-up by staff: zones and their scheduled slots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from backoffice.exceptions import ValidationFailed
from backoffice.money import parse_amount
from delivery.models import CartDelivery, DeliverySlot, DeliveryZone
from delivery.zones import opening_hours_problems, postal_code_normal, timezone_valid
from inventory.models import Warehouse

MONEY_FIELDS = ("fee", "free_over", "minimum_order")
ZONE_FIELDS = {
    "name", "kind", "latitude", "longitude", "radius_meters", "postal_codes", "country",
    "currency", "fee", "free_over", "minimum_order", "preparation_minutes", "speed_kmh",
    "travel_minutes", "opening_hours", "timezone", "proof", "provider", "active",
}  # fmt: skip
MAX_SLOTS = 500


def zone_clean(zone: DeliveryZone, fields: dict[str, Any]) -> None:
    """Apply `fields` to an unsaved copy of a zone, raising ValidationFailed with every
    problem; the API and the admin's zone form both check through here."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        if name in MONEY_FIELDS:
            if value is None and name == "free_over":
                zone.free_over = None
                continue
            try:
                value = parse_amount(value, fields.get("currency") or zone.currency)
            except ValueError as error:
                errors[name] = [str(error)]
                continue
        if name == "postal_codes":
            value = sorted({postal_code_normal(code) for code in value or [] if code})
        if name == "country":
            value = (value or "").upper()
        setattr(zone, name, value)
    hours_problems = opening_hours_problems(zone.opening_hours)
    if hours_problems:
        errors["opening_hours"] = hours_problems
    if zone.provider not in settings.DELIVERY_PROVIDERS:
        errors["provider"] = [f"One of {', '.join(settings.DELIVERY_PROVIDERS)}."]
    if not timezone_valid(zone.timezone):
        errors["timezone"] = ["An IANA time zone, e.g. Europe/Berlin."]
    if zone.kind == DeliveryZone.Kind.RADIUS:
        for name in ("latitude", "longitude", "radius_meters"):
            if getattr(zone, name) is None:
                errors.setdefault(name, []).append(
                    "A radius zone needs the store's point and radius."
                )
    elif not zone.postal_codes:
        errors.setdefault("postal_codes", []).append("List the postal codes the zone serves.")
    try:
        zone.full_clean(exclude=["warehouse", *MONEY_FIELDS], validate_unique=False)
    except DjangoValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)


def zone_create(*, code: str, warehouse: Warehouse, fields: dict[str, Any]) -> DeliveryZone:
    """A zone of a store; the fee, minimum and threshold in the zone's currency."""
    unknown = set(fields) - ZONE_FIELDS
    if unknown:
        raise ValidationFailed({name: ["Unknown field."] for name in sorted(unknown)})
    if DeliveryZone.objects.filter(code=code).exists():
        raise ValidationFailed({"code": [f"A zone '{code}' exists."]})
    zone = DeliveryZone(code=code, warehouse=warehouse, name=fields.get("name") or code)
    zone_clean(zone, fields)
    try:
        with transaction.atomic():
            zone.save()
    except IntegrityError as error:  # the same code, created meanwhile
        raise ValidationFailed({"code": [f"A zone '{code}' exists."]}) from error
    return zone


def zone_update(*, zone: DeliveryZone, fields: dict[str, Any]) -> DeliveryZone:
    unknown = set(fields) - ZONE_FIELDS
    if unknown:
        raise ValidationFailed(
            {name: ["This field cannot be changed."] for name in sorted(unknown)}
        )
    with transaction.atomic():
        # NO KEY UPDATE: a checkout committing a delivery of this zone takes KEY SHARE on
        # it (the foreign key's check), and must not wait behind an edit of its settings.
        zone = DeliveryZone.objects.select_for_update(no_key=True).get(pk=zone.pk)
        zone_clean(zone, fields)
        zone.save()
    return zone


def slots_create(
    *,
    zone: DeliveryZone,
    starts_at: datetime,
    ends_at: datetime,
    slot_minutes: int,
    capacity: int,
) -> list[DeliverySlot]:
    """Slots of `slot_minutes` from `starts_at` to `ends_at`, each taking `capacity`
    deliveries; a slot that starts at the same time as an existing one is refused."""
    errors: dict[str, list[str]] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = ["Must be after starts_at."]
    if not 5 <= slot_minutes <= 24 * 60:
        errors["slot_minutes"] = ["5 to 1440 minutes."]
    if capacity < 1:
        errors["capacity"] = ["At least 1."]
    if errors:
        raise ValidationFailed(errors)
    step = timedelta(minutes=slot_minutes)
    count = int((ends_at - starts_at) / step)
    if not 1 <= count <= MAX_SLOTS:
        raise ValidationFailed({"ends_at": [f"Between 1 and {MAX_SLOTS} slots at a time."]})
    slots = [
        DeliverySlot(
            zone=zone,
            starts_at=starts_at + index * step,
            ends_at=starts_at + (index + 1) * step,
            capacity=capacity,
        )
        for index in range(count)
    ]
    try:
        with transaction.atomic():
            return DeliverySlot.objects.bulk_create(slots)
    except IntegrityError as error:
        raise ValidationFailed(
            {"starts_at": ["A slot of this zone starts at one of these times."]}
        ) from error


def slot_capacity_set(*, slot: DeliverySlot, capacity: int) -> DeliverySlot:
    """Change a slot's capacity; never below what is booked."""
    return slot_update(slot=slot, capacity=capacity)


def slot_update(
    *,
    slot: DeliverySlot,
    capacity: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> DeliverySlot:
    """Change a slot's capacity (never below what is booked) and, while nothing is booked
    in it, its times. Writes only those columns, under the slot's lock, so a booking that
    commits meanwhile is counted, never overwritten."""
    try:
        with transaction.atomic():
            # NO KEY UPDATE, as for the zone: a checkout's booking references the slot
            slot = DeliverySlot.objects.select_for_update(no_key=True).get(pk=slot.pk)
            errors: dict[str, list[str]] = {}
            if capacity < slot.booked:
                errors["capacity"] = [f"{slot.booked} deliveries are booked."]
            times = (starts_at or slot.starts_at, ends_at or slot.ends_at)
            if times != (slot.starts_at, slot.ends_at):
                if slot.booked:
                    errors["starts_at"] = [
                        f"{slot.booked} deliveries are booked in this slot: add another slot."
                    ]
                elif times[1] <= times[0]:
                    errors["ends_at"] = ["Must be after starts_at."]
            if errors:
                raise ValidationFailed(errors)
            slot.capacity = capacity
            slot.starts_at, slot.ends_at = times
            slot.save(update_fields=["capacity", "starts_at", "ends_at"])
    except IntegrityError as error:
        raise ValidationFailed(
            {"starts_at": ["A slot of this zone starts at this time."]}
        ) from error
    return slot


def slot_delete(*, slot: DeliverySlot) -> int:
    """Remove a slot nothing is booked in (checked under its lock); returns how many carts
    had chosen it.

    Those carts are not moved to "as soon as possible" behind the customer's back: their
    choice is marked withdrawn, and their answer (`delivery.problem`) and their checkout
    say so (422 `delivery_slot_unavailable`) until they choose again. A cart choosing the
    slot meanwhile shares its row first (`delivery.locks.slot_share`), so it is either
    counted here or told the slot is gone. A slot already gone: nothing to do (0).
    """
    with transaction.atomic():
        # FOR UPDATE (not NO KEY): the row is deleted
        slot = DeliverySlot.objects.select_for_update().filter(pk=slot.pk).first()
        if slot is None:
            return 0
        if slot.booked or slot.deliveries.exists():
            raise ValidationFailed({"slot": [f"{slot.booked} deliveries are booked in it."]})
        carts = CartDelivery.objects.filter(slot=slot).update(slot=None, slot_withdrawn=True)
        slot.delete()
    return carts
