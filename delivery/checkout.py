"""Delivery at checkout: the zone, minimum, opening hours and slot checks, the fee and the
promise (`quote`), the slot's capacity (`hold`), and the delivery row (`record`).

Registered with `orders.delivery_hook` when Django starts; orders calls it only for a
shipping method of kind `local_delivery`. What it costs a checkout is in
docs/performance.md ("On-demand delivery at checkout").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from backoffice import task_names
from backoffice.crypto import encrypt
from backoffice.exceptions import ValidationFailed
from backoffice.ids import is_id
from backoffice.jobs import enqueue_after_commit
from backoffice.money import money_dict, quantize
from backoffice.timefmt import rfc3339
from catalog.models import Channel
from delivery.errors import (
    BelowDeliveryMinimum,
    DeliveryClosed,
    DeliverySlotFull,
    DeliverySlotUnavailable,
    OutsideDeliveryArea,
)
from delivery.events import delivery_announce, estimate_event_data
from delivery.locks import slot_booked, slot_booking, slot_release, slot_share
from delivery.models import CartDelivery, Delivery, DeliveryOffer, DeliverySlot, DeliveryZone
from delivery.promise import Estimate, promise_new, travel
from delivery.providers import OwnCouriers
from delivery.slot_room import slot_has_room
from delivery.zones import (
    ZoneMatch,
    address_geocode,
    coordinates_of,
    zone_fee,
    zone_open_at,
    zone_opens_next,
    zones_for_address,
)
from orders.delivery_hook import DeliveryQuote, DeliveryRecord
from orders.models import Cart, Order, OrderEvent

OWN_COURIERS = OwnCouriers.name


@dataclass(frozen=True)
class Promise:
    """What a quote found: the zone, the slot, and when."""

    match: ZoneMatch
    address: dict
    slot: DeliverySlot | None
    ready_at: datetime
    dispatch_at: datetime
    estimate: Estimate


def slot_find(slot_id: str | None, *, share: bool = False) -> DeliverySlot | None:
    """The slot of that id (None for none); `share`: held until commit (`slot_share`)."""
    if slot_id in (None, ""):
        return None
    slot = None
    if is_id(str(slot_id)):
        pk = int(slot_id)
        slot = slot_share(pk) if share else DeliverySlot.objects.filter(pk=pk).first()
    if slot is None:
        raise DeliverySlotUnavailable("No such delivery slot.")
    return slot


def delivery_promise(
    *,
    channel: Channel,
    address: dict | None,
    subtotal: Decimal,
    slot: DeliverySlot | None,
    now: datetime | None = None,
) -> tuple[Promise, Decimal]:
    """Check that the address can be delivered now (or in the slot); the promise and the fee.

    Raises OutsideDeliveryArea, BelowDeliveryMinimum, DeliveryClosed, DeliverySlotUnavailable,
    DeliverySlotFull, or ValidationFailed without an address.
    """
    now = now or timezone.now()
    if not address:
        raise ValidationFailed({"shipping_address": ["A delivery needs the address."]})
    matches = zones_for_address(channel=channel, address=address)
    if slot is not None:
        matches = [m for m in matches if m.zone.pk == slot.zone_id]
    if not matches:
        if slot is not None:
            raise DeliverySlotUnavailable("This slot's zone does not serve the address.")
        raise OutsideDeliveryArea(
            "No delivery zone serves this address."
            + ("" if coordinates_of(address) else " Send its latitude and longitude.")
        )
    match = matches[0]
    zone = match.zone
    if subtotal < zone.minimum_order:
        minimum = money_dict(zone.minimum_order, zone.currency)
        raise BelowDeliveryMinimum(
            f"Delivery from {zone.name} starts at {minimum['amount']} {zone.currency}.",
            minimum=minimum,
        )
    ready_at = now + timedelta(minutes=zone.preparation_minutes)
    if slot is None:
        if not zone_open_at(zone, now):
            opens = zone_opens_next(zone, now)
            raise DeliveryClosed(
                f"{zone.name} delivers again at {rfc3339(opens)}." if opens else None,
                opens_at=rfc3339(opens),
            )
        estimate, _ = promise_new(zone=zone, distance=match.distance, now=now, ready_at=ready_at)
        dispatch_at = now
    else:
        if slot.starts_at < ready_at:
            raise DeliverySlotUnavailable("This slot starts too soon to be prepared.")
        if not slot_has_room(slot):
            raise DeliverySlotFull()
        leave_by = slot.starts_at - travel(zone, match.distance)
        dispatch_at = max(
            now, leave_by - timedelta(minutes=settings.DELIVERY_DISPATCH_LEAD_MINUTES)
        )
        ready_at = max(ready_at, leave_by)
        estimate = Estimate(slot.starts_at, slot.starts_at, slot.ends_at)
    promise = Promise(match, address, slot, ready_at, dispatch_at, estimate)
    return promise, quantize(zone_fee(zone, subtotal), zone.currency)


class CheckoutPlanner:
    """The `orders.delivery_hook.DeliveryPlanner` of the shop's own delivery."""

    def quote(
        self,
        *,
        channel: Channel,
        address: dict | None,
        subtotal: Decimal,
        slot: str | None = None,
        cart: Cart | None = None,
    ) -> DeliveryQuote:
        if cart is not None:
            # A cart's address was geocoded when it was set; its slot is the cart's choice.
            choice = CartDelivery.objects.filter(cart=cart).select_related("slot").first()
            if choice and choice.slot_withdrawn:
                raise DeliverySlotUnavailable(
                    "The delivery slot chosen was withdrawn by the shop: choose another one, "
                    "or none for as soon as possible."
                )
            chosen = choice.slot if choice else None
        else:
            address = address_geocode(address)
            chosen = slot_find(slot)
        promise, fee = delivery_promise(
            channel=channel, address=address, subtotal=subtotal, slot=chosen
        )
        return DeliveryQuote(fee=fee, warehouse_id=promise.match.zone.warehouse_id, details=promise)

    def record(self, *, order: Order, quote: DeliveryQuote, actor: str) -> DeliveryRecord:
        """The delivery row, its first estimate and a slot's booking, for the checkout to
        write in the same statement as the order's own rows (`rows_insert`); nothing runs
        here. The booking is then confirmed by `booked` (the rows its `UPDATE` returned)."""
        promise: Promise = quote.details
        zone: DeliveryZone = promise.match.zone
        now = timezone.now()
        point = coordinates_of(promise.address) or (None, None)
        scheduled = promise.slot is not None and promise.dispatch_at > now
        delivery = Delivery(
            order=order,
            zone=zone,
            slot=promise.slot,
            provider=zone.provider,
            status=Delivery.Status.SCHEDULED if scheduled else Delivery.Status.QUEUED,
            dropoff_latitude=point[0],
            dropoff_longitude=point[1],
            distance_meters=promise.match.distance,
            ready_at=promise.ready_at,
            dispatch_at=promise.dispatch_at,
            estimated_earliest=promise.estimate.earliest,
            estimated_latest=promise.estimate.latest,
            pin=encrypt(f"{secrets.randbelow(10000):04d}"),
        )
        estimate = OrderEvent(  # written by the checkout, with the order's own rows
            order=order,
            type=OrderEvent.Type.DELIVERY_ESTIMATE,
            actor=actor,
            data=estimate_event_data(promise.estimate, "placed"),
        )
        if order.status != Order.Status.PENDING_PAYMENT:  # else once paid (`order_paid`)
            _dispatch_enqueue(delivery)  # its id is read at commit, once it has one
        slot_id = promise.slot.pk if promise.slot is not None else None
        return DeliveryRecord(
            delivery=delivery,
            events=[estimate],
            rows=[delivery],
            booking=slot_booking(slot_id) if slot_id is not None else None,
            booked=(lambda count: slot_booked(slot_id, count)) if slot_id is not None else None,
        )

    def order_paid(self, *, order: Order) -> None:
        """An order that waited for its payment is paid: its delivery goes out now (or at
        its slot's dispatch time), as it would have at checkout."""
        delivery = Delivery.objects.filter(order=order).first()
        if delivery is not None and delivery.active:
            _dispatch_enqueue(delivery)

    def order_cancelled(self, *, order: Order) -> None:
        """Late in a cancel, after the voucher's use is given back and before the stock:
        the slot's unit of a delivery `order_cancelling` cancelled (Lock order: slots come
        after vouchers and links)."""
        slot_id = getattr(order, "delivery_slot_release", None)
        if slot_id:
            slot_release(slot_id)
            order.delivery_slot_release = None

    def order_cancelling(self, *, order: Order, actor: str) -> None:
        from delivery.locks import delivery_lock

        delivery_id = Delivery.objects.filter(order=order).values_list("pk", flat=True).first()
        if delivery_id is None:
            return
        delivery = delivery_lock(delivery_id)
        if not delivery.active:
            return
        DeliveryOffer.objects.filter(delivery=delivery, status=DeliveryOffer.Status.PENDING).update(
            status=DeliveryOffer.Status.WITHDRAWN, answered_at=timezone.now()
        )
        # Its slot's unit goes back later in the cancel, after the voucher's (`order_cancelled`).
        order.delivery_slot_release = delivery.slot_id
        delivery.status = Delivery.Status.CANCELLED
        delivery.cancelled_at = delivery.ended_at = timezone.now()
        delivery.save(update_fields=["status", "cancelled_at", "ended_at"])
        if delivery.provider != OWN_COURIERS:
            enqueue_after_commit(task_names.DELIVERY_PROVIDER_CANCEL, delivery.pk)
        delivery_announce(delivery)


def _dispatch_enqueue(delivery: Delivery) -> None:
    """Offer the delivery to the shop's couriers at its dispatch time, or have the
    third-party fleet book it (a network call: never inside this transaction): one task,
    queued after commit. The delivery's id is read then (a checkout's row gets it from
    the statement that inserts it, after this is called)."""
    if delivery.provider == OWN_COURIERS:
        countdown = max(0.0, (delivery.dispatch_at - timezone.now()).total_seconds())
        name = task_names.DELIVERY_DISPATCH
    else:
        countdown, name = 0.0, task_names.DELIVERY_PROVIDER_CREATE
    enqueue_after_commit(name, countdown=countdown, row=delivery)


def cart_delivery_update(*, cart: Cart, slot_id: str | object | None, slot_given: bool) -> None:
    """After a cart's change, in its transaction: an on-demand cart's address must be one a
    zone serves (else OutsideDeliveryArea, and the change rolls back), and the slot chosen
    (None: as soon as possible) must be one of that zone's."""
    cart = Cart.objects.select_related("channel", "shipping_method").get(pk=cart.pk)
    method = cart.shipping_method
    delivers = method is not None and method.kind == method.Kind.LOCAL_DELIVERY
    if slot_given:
        slot = slot_find(slot_id, share=True) if slot_id else None
        if slot is not None and not delivers:
            raise ValidationFailed(
                {"delivery_slot": ["Choose an on-demand shipping method first."]}
            )
        CartDelivery.objects.update_or_create(
            cart=cart, defaults={"slot": slot, "slot_withdrawn": False}
        )
    if not delivers or not cart.shipping_address:
        return
    matches = zones_for_address(channel=cart.channel, address=cart.shipping_address)
    if not matches:
        raise OutsideDeliveryArea(
            "No delivery zone serves this address."
            + ("" if coordinates_of(cart.shipping_address) else " Send its latitude and longitude.")
        )
    choice = CartDelivery.objects.filter(cart=cart).select_related("slot").first()
    if choice and choice.slot and choice.slot.zone_id not in {m.zone.pk for m in matches}:
        raise DeliverySlotUnavailable("This slot's zone does not serve the address.")
