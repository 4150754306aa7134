"""On the way: the courier's pickup, positions, and the proof that completes the delivery.

A position is taken only while the courier is on the delivery (assigned or picked up);
each one moves the courier's pin on the customer's map, and the arrival window when it
moved by DELIVERY_ESTIMATE_RECORD_MINUTES or more (then the timeline records it). Pickup
ships the order's fulfillment from the zone's store; the proof (the customer's PIN, or a
photo, as the zone accepts) delivers it, which completes a paid order. A wrong PIN is
refused and counted; after DELIVERY_PIN_ATTEMPTS the PIN is locked for the delivery.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from backoffice.exceptions import InvalidTransition, NotFound, ValidationFailed
from backoffice.sql import execute, table
from delivery.errors import NoActiveDelivery, PinLocked, ProofRequired, WrongPin
from delivery.events import (
    delivery_announce,
    delivery_pin,
    estimate_apply,
    estimate_event_data,
    estimate_moved,
    location_announce,
    timeline_write,
)
from delivery.locks import delivery_lock, delivery_lock_for_position
from delivery.models import (
    DELIVERY_TRANSITIONS,
    Courier,
    Delivery,
    DeliveryLocation,
    DeliveryZone,
    delivery_action_check,
)
from delivery.promise import promise_now
from fulfillment.models import Fulfillment
from fulfillment.services import fulfillment_create, fulfillment_deliver, fulfillment_ship
from orders.events import order_events_write
from orders.locks import order_lock
from orders.models import Order, OrderEvent

_https = URLValidator(schemes=["https"])


def _locked_for_courier(delivery: Delivery, courier: Courier | None) -> tuple[Order, Delivery]:
    order = order_lock(Order(pk=delivery.order_id))
    delivery = delivery_lock(delivery.pk)
    if courier is not None and delivery.courier_id != courier.pk:
        raise InvalidTransition(entity="delivery", current="assigned to another", action="act")
    return order, delivery


def location_post(
    *,
    delivery: Delivery,
    courier: Courier,
    latitude: float,
    longitude: float,
    accuracy: int | None = None,
    recorded_at: datetime | None = None,
) -> Delivery:
    """Take the courier's position (`delivery` may be just its id: one query less on the
    busiest path). Raises NotFound for another courier's delivery, NoActiveDelivery when
    this one is not under way."""
    now = timezone.now()
    recorded_at = min(recorded_at or now, now)
    with transaction.atomic():
        # The delivery row only: the timeline is written after, on its own.
        delivery = delivery_lock_for_position(delivery.pk)
        if delivery is None or delivery.courier_id != courier.pk:
            raise NotFound("No such delivery.")  # another courier's: as if it did not exist
        if "locate" not in DELIVERY_TRANSITIONS[delivery.status]:
            raise NoActiveDelivery()
        if delivery.courier_located_at and recorded_at < delivery.courier_located_at:
            return delivery  # an older position that arrived late: the track has newer
        execute(  # written out, as the lock above
            f"INSERT INTO {table(DeliveryLocation)} "  # noqa: S608 - table name only
            "(delivery_id, latitude, longitude, accuracy_meters, recorded_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [delivery.pk, latitude, longitude, accuracy, recorded_at],
        )
        delivery.courier_latitude, delivery.courier_longitude = latitude, longitude
        delivery.courier_located_at = recorded_at
        estimate = promise_now(delivery, now)
        moved = estimate_moved(delivery, estimate)
        if moved:
            estimate_apply(delivery, estimate, reason="moved", actor="", record=False)
        execute(
            f"UPDATE {table(Delivery)} SET courier_latitude = %s, courier_longitude = %s, "  # noqa: S608
            "courier_located_at = %s, estimated_earliest = %s, estimated_latest = %s "
            "WHERE id = %s",
            [
                latitude,
                longitude,
                recorded_at,
                delivery.estimated_earliest,
                delivery.estimated_latest,
                delivery.pk,
            ],
        )
        location_announce(delivery)
    if moved:  # its own short statement: no delivery row held while it refers to the order
        order_events_write(
            order=Order(pk=delivery.order_id),
            types=[OrderEvent.Type.DELIVERY_ESTIMATE],
            actor=courier.access.actor,
            data=estimate_event_data(estimate, "courier moved"),
        )
    return delivery


def delivery_pickup(*, delivery: Delivery, courier: Courier | None, actor: str) -> Delivery:
    """The courier has the order: its fulfillment from the zone's store ships."""
    now = timezone.now()
    with transaction.atomic():
        order, delivery = _locked_for_courier(delivery, courier)
        delivery_action_check(delivery, "pickup")
        fulfillment = (
            Fulfillment.objects.filter(
                order=order,
                warehouse_id=delivery.zone.warehouse_id,
                status__in=[Fulfillment.Status.PENDING, Fulfillment.Status.PACKED],
            )
            .order_by("id")
            .first()
        )
        if fulfillment is None:
            fulfillment = fulfillment_create(
                order=order, warehouse=delivery.zone.warehouse, actor=actor
            )[0]
        fulfillment_ship(
            fulfillment=fulfillment,
            carrier=f"Courier {delivery.courier.name}" if delivery.courier else "Courier",
            tracking_number=f"D{delivery.pk}",
            actor=actor,
        )
        delivery.status, delivery.picked_up_at = Delivery.Status.PICKED_UP, now
        estimate_apply(
            delivery, promise_now(delivery, now), reason="picked up", actor=actor, record=True
        )
        delivery.save()
        delivery_announce(delivery)
    return delivery


def _proof_allowed(zone: DeliveryZone, kind: str) -> bool:
    return zone.proof == DeliveryZone.Proof.PIN_OR_PHOTO or zone.proof == kind


def delivery_complete(
    *,
    delivery: Delivery,
    courier: Courier | None,
    actor: str,
    pin: str | None = None,
    photo_url: str | None = None,
    staff_note: str | None = None,
) -> tuple[Delivery, WrongPin | None]:
    """Hand over with proof: the customer's PIN, a photo (https URL), or staff's word.

    A wrong PIN is counted and committed, and returned (not raised: raising would roll the
    count back with the caller's transaction). Raises PinLocked, ProofRequired,
    InvalidTransition.
    """
    now = timezone.now()
    wrong: WrongPin | None = None
    with transaction.atomic():
        order, delivery = _locked_for_courier(delivery, courier)
        delivery_action_check(delivery, "complete")
        zone = delivery.zone
        if staff_note is not None:
            kind, proof = Delivery.ProofKind.STAFF, {"note": staff_note[:1000]}
        elif pin:
            if not _proof_allowed(zone, DeliveryZone.Proof.PIN):
                raise ProofRequired("This zone takes a photo as proof, not a PIN.")
            if delivery.pin_attempts >= settings.DELIVERY_PIN_ATTEMPTS:
                raise PinLocked()
            if not hmac.compare_digest(pin.strip(), delivery_pin(delivery)):
                delivery.pin_attempts += 1
                delivery.save(update_fields=["pin_attempts"])
                timeline_write(
                    delivery,
                    OrderEvent.Type.DELIVERY_PIN_REFUSED,
                    actor,
                    attempts=delivery.pin_attempts,
                )
                left = max(0, settings.DELIVERY_PIN_ATTEMPTS - delivery.pin_attempts)
                wrong = WrongPin(attempts_left=left)
            kind, proof = Delivery.ProofKind.PIN, {}
        elif photo_url:
            if not _proof_allowed(zone, DeliveryZone.Proof.PHOTO):
                raise ProofRequired("This zone takes the customer's PIN as proof.")
            try:
                _https(photo_url)
            except DjangoValidationError as error:
                raise ValidationFailed({"photo_url": ["An https URL."]}) from error
            kind, proof = Delivery.ProofKind.PHOTO, {"photo_url": photo_url}
            delivery.proof_photo_url = photo_url
        else:
            raise ProofRequired()
        if wrong is None:
            _deliver(order, delivery, kind=kind, proof=proof, actor=actor, now=now)
    return delivery, wrong


def _deliver(order: Order, delivery: Delivery, *, kind: str, proof: dict, actor: str, now) -> None:
    for fulfillment in Fulfillment.objects.filter(
        order=order, warehouse_id=delivery.zone.warehouse_id, status=Fulfillment.Status.SHIPPED
    ).order_by("id"):
        fulfillment_deliver(fulfillment=fulfillment, actor=actor)
    delivery.status, delivery.proof_kind = Delivery.Status.DELIVERED, kind
    delivery.delivered_at = delivery.ended_at = now
    # The courier's position is kept only while the delivery is active.
    delivery.courier_latitude = delivery.courier_longitude = delivery.courier_located_at = None
    delivery.save()
    timeline_write(delivery, OrderEvent.Type.DELIVERY_PROOF, actor, proof=kind, **proof)
    delivery_announce(delivery)
