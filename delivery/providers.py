"""Who carries a delivery: the shop's own couriers, or a third-party fleet plugged in.

`DeliveryProvider` is the interface, in the shape DoorDash Drive and Uber Direct give
merchants: a quote for a pickup and a drop-off (fee, minutes), the delivery created
with the fleet (its id kept as `external_id`), a cancellation, and the fleet's status
and location callbacks, which `provider_status_event` and `provider_location_event`
apply to the delivery (the same state moves, timeline rows and live events as the
shop's couriers make). A zone's `provider` names the one that carries its deliveries;
DELIVERY_PROVIDERS maps names to classes. The built-in `couriers` is the dispatch of
`delivery.dispatch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from backoffice import task_names
from backoffice.exceptions import InvalidTransition, NotFound
from backoffice.jobs import enqueue_after_commit
from delivery.events import delivery_announce, estimate_apply, location_announce, timeline_write
from delivery.locks import delivery_lock
from delivery.models import Delivery, DeliveryZone
from delivery.promise import Estimate, point_travel, promise_now, window
from delivery.zones import zone_fee
from orders.locks import order_lock
from orders.models import Order, OrderEvent


@dataclass(frozen=True)
class ProviderQuote:
    fee: Decimal
    minutes: int  # from now to the door


class DeliveryProvider(Protocol):
    name: str

    def quote(self, *, zone: DeliveryZone, dropoff: dict, order_value: Decimal) -> ProviderQuote:
        """What carrying an order from the zone's store to `dropoff` costs and takes."""

    def create(self, *, delivery: Delivery) -> str:
        """Book the delivery with the fleet (after the checkout committed); its id there."""

    def cancel(self, *, delivery: Delivery) -> None:
        """Call the courier off (the order was cancelled before pickup)."""


class OwnCouriers:
    """The shop's couriers: offered one after the other by `delivery.dispatch`."""

    name = "couriers"

    def quote(self, *, zone: DeliveryZone, dropoff: dict, order_value: Decimal) -> ProviderQuote:
        now = timezone.now()
        point = (dropoff.get("latitude"), dropoff.get("longitude"))
        trip = point_travel(zone, (zone.latitude, zone.longitude), point)
        arrival = now + timedelta(minutes=zone.preparation_minutes) + trip
        minutes = round((window(arrival, now).arrival - now).total_seconds() / 60)
        return ProviderQuote(fee=zone_fee(zone, order_value), minutes=minutes)

    def create(self, *, delivery: Delivery) -> str:
        enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery.pk)
        return ""

    def cancel(self, *, delivery: Delivery) -> None:
        """Its offers are withdrawn with the order's cancel (`delivery.checkout`)."""


@cache
def provider_get(name: str) -> DeliveryProvider:
    path = settings.DELIVERY_PROVIDERS.get(name)
    if path is None:
        raise NotFound(f"No delivery provider '{name}'.")
    return import_string(path)()


# A fleet's status names, as DoorDash Drive and Uber Direct send them, and ours.
FLEET_STATUSES = {
    "assigned": Delivery.Status.ASSIGNED,
    "dasher_confirmed": Delivery.Status.ASSIGNED,
    "pickup": Delivery.Status.ASSIGNED,
    "picked_up": Delivery.Status.PICKED_UP,
    "pickup_complete": Delivery.Status.PICKED_UP,
    "dasher_picked_up": Delivery.Status.PICKED_UP,
    "dropoff": Delivery.Status.PICKED_UP,
    "delivered": Delivery.Status.DELIVERED,
    "dasher_dropped_off": Delivery.Status.DELIVERED,
    "cancelled": Delivery.Status.CANCELLED,
    "canceled": Delivery.Status.CANCELLED,
}
ORDER = [Delivery.Status.QUEUED, Delivery.Status.ASSIGNED, Delivery.Status.PICKED_UP]


def _fleet_delivery(provider: str, external_id: str) -> Delivery:
    delivery = Delivery.objects.filter(provider=provider, external_id=external_id).first()
    if delivery is None:
        raise NotFound("No such delivery with this provider.")
    return delivery


def provider_status_event(
    *,
    provider: str,
    external_id: str,
    status: str,
    courier_name: str = "",
    photo_url: str = "",
    eta: Estimate | None = None,
) -> Delivery:
    """Apply a fleet's status callback: safe to receive twice or out of order (a status
    behind the delivery's is ignored). A pickup ships the order; a drop-off delivers it
    with the fleet's proof (a photo, when it sends one)."""
    from delivery.tracking import _deliver, delivery_pickup

    ours = FLEET_STATUSES.get(status.lower())
    if ours is None:
        raise InvalidTransition(entity="delivery", current=status, action="apply")
    delivery = _fleet_delivery(provider, external_id)
    actor = f"provider:{provider}"
    now = timezone.now()
    with transaction.atomic():
        order = order_lock(Order(pk=delivery.order_id))
        delivery = delivery_lock(delivery.pk)
        if not delivery.active:
            return delivery
        if ours == Delivery.Status.CANCELLED:
            delivery.status, delivery.cancelled_at = Delivery.Status.QUEUED, None
            delivery.provider = OwnCouriers.name  # the shop's own couriers take it over
            delivery.external_id = ""
            delivery.save(update_fields=["status", "cancelled_at", "provider", "external_id"])
            timeline_write(delivery, OrderEvent.Type.COURIER_UNASSIGNED, actor, reason=status)
            enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery.pk)
            delivery_announce(delivery)
            return delivery
        current = ORDER.index(delivery.status) if delivery.status in ORDER else 0
        if ours in ORDER and ORDER.index(ours) <= current:
            return delivery  # already there, or further
        if current < ORDER.index(Delivery.Status.ASSIGNED):
            delivery.status, delivery.assigned_at = Delivery.Status.ASSIGNED, now
            delivery.save(update_fields=["status", "assigned_at"])
            timeline_write(delivery, OrderEvent.Type.COURIER_ASSIGNED, actor, courier=courier_name)
        if ours in (Delivery.Status.PICKED_UP, Delivery.Status.DELIVERED) and (
            delivery.status != Delivery.Status.PICKED_UP
        ):
            delivery = delivery_pickup(delivery=delivery, courier=None, actor=actor)
        if ours == Delivery.Status.DELIVERED:
            proof = {"photo_url": photo_url} if photo_url else {}
            kind = Delivery.ProofKind.PHOTO if photo_url else Delivery.ProofKind.STAFF
            delivery.proof_photo_url = photo_url
            _deliver(
                order, delivery, kind=kind, proof={**proof, "by": provider}, actor=actor, now=now
            )
            return delivery
        if eta is not None:
            estimate_apply(delivery, eta, reason=status, actor=actor, record=True)
            delivery.save(update_fields=["estimated_earliest", "estimated_latest"])
        delivery_announce(delivery)
    return delivery


def provider_location_event(
    *, provider: str, external_id: str, latitude: float, longitude: float
) -> Delivery:
    """Apply a fleet's courier-location callback (only while the delivery is under way)."""
    delivery = _fleet_delivery(provider, external_id)
    with transaction.atomic():
        delivery = delivery_lock(delivery.pk)
        if delivery.status not in (Delivery.Status.ASSIGNED, Delivery.Status.PICKED_UP):
            return delivery
        delivery.courier_latitude, delivery.courier_longitude = latitude, longitude
        delivery.courier_located_at = timezone.now()
        estimate = promise_now(delivery, delivery.courier_located_at)
        estimate_apply(delivery, estimate, reason="moved", actor="", record=False)
        delivery.save()
        location_announce(delivery)
    return delivery


def delivery_provider_create(*, delivery_id: int) -> str:
    """Book a third-party fleet's delivery (a task, after the checkout committed): safe to
    run twice, as the delivery's id is the fleet's reference for it (DoorDash Drive's
    `external_delivery_id`), so the fleet books it once."""
    delivery = Delivery.objects.select_related("order", "zone__warehouse").get(pk=delivery_id)
    if delivery.provider == OwnCouriers.name or delivery.external_id or not delivery.active:
        return delivery.external_id
    external_id = provider_get(delivery.provider).create(delivery=delivery)  # no lock held
    Delivery.objects.filter(pk=delivery.pk, external_id="").update(external_id=external_id)
    return external_id


def delivery_provider_cancel(*, delivery_id: int) -> None:
    """Call a third-party fleet off after the order's cancel committed."""
    delivery = Delivery.objects.get(pk=delivery_id)
    if delivery.provider != OwnCouriers.name and delivery.external_id:
        provider_get(delivery.provider).cancel(delivery=delivery)
