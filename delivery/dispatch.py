"""Dispatch: each delivery is offered to one available courier of its store at a time.

The longest-idle available courier who serves the zone's store, is on no other delivery,
has no open offer and has not refused this one lately (DELIVERY_REOFFER_AFTER_SECONDS)
gets the offer, for DELIVERY_OFFER_SECONDS. Accepting assigns the delivery; declining,
or letting it expire (a countdown task, and the beat sweep when that message is lost),
offers it to the next courier; a courier who lets DELIVERY_MISSED_OFFERS_LIMIT offers in
a row expire is set unavailable. A courier who drops an accepted delivery before pickup
puts it back in the queue. Staff assign by hand or put it back in the queue.

Every function is safe to run twice: it re-reads the rows under their locks and does
nothing when the state has moved on. Locks follow docs/architecture.md ("Lock order"):
order (when the timeline is written), delivery, couriers, offers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from backoffice import task_names
from backoffice.exceptions import InvalidTransition
from backoffice.jobs import enqueue_after_commit
from delivery.errors import CourierBusy, OfferUnavailable
from delivery.events import delivery_announce, delivery_pin, estimate_apply, timeline_write
from delivery.locks import couriers_lock, delivery_lock
from delivery.models import (
    Courier,
    Delivery,
    DeliveryOffer,
    delivery_action_check,
)
from delivery.promise import BUSY, promise_now
from orders.locks import order_lock
from orders.messages.services import message_post
from orders.models import Order, OrderEvent, OrderMessage

OWN_COURIERS = "couriers"
REFUSED = (
    DeliveryOffer.Status.DECLINED,
    DeliveryOffer.Status.EXPIRED,
    DeliveryOffer.Status.DROPPED,
)


def couriers_free(*, warehouse_id: int, now: datetime, delivery: Delivery | None = None):
    """Available couriers of a store with no delivery in hand and no open offer, longest idle
    first; without those who refused `delivery` lately."""
    busy = Delivery.objects.filter(courier=OuterRef("pk"), status__in=BUSY)
    pending = DeliveryOffer.objects.filter(
        courier=OuterRef("pk"), status=DeliveryOffer.Status.PENDING
    )
    couriers = (
        Courier.objects.filter(
            active=True,
            available=True,
            warehouses=warehouse_id,
            access__revoked_at__isnull=True,
            access__expires_at__gt=now,
        )
        .exclude(Exists(busy))
        .exclude(Exists(pending))
    )
    if delivery is not None:
        since = now - timedelta(seconds=settings.DELIVERY_REOFFER_AFTER_SECONDS)
        refused = DeliveryOffer.objects.filter(
            delivery=delivery, status__in=REFUSED, answered_at__gt=since
        ).values("courier_id")
        couriers = couriers.exclude(pk__in=refused)
    return couriers.order_by("available_since", "id")


def delivery_dispatch(*, delivery_id: int, now: datetime | None = None) -> DeliveryOffer | None:
    """Offer a queued (or due scheduled) delivery to the next courier; None when it needs
    no offer now or no courier is free (the sweep and the next available courier retry)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = delivery_lock(delivery_id)
        if delivery.provider != OWN_COURIERS:
            return None
        if delivery.status == Delivery.Status.SCHEDULED:
            if delivery.dispatch_at > now:
                return None
            delivery.status = Delivery.Status.QUEUED
            delivery.save(update_fields=["status"])
        if (
            delivery.status == Delivery.Status.OFFERED
            and not delivery.offers.filter(status=DeliveryOffer.Status.PENDING).exists()
        ):  # its courier went unavailable and withdrew the offer
            delivery.status = Delivery.Status.QUEUED
            delivery.save(update_fields=["status"])
        if delivery.status != Delivery.Status.QUEUED or delivery.dispatch_at > now:
            return None
        candidates = list(
            couriers_free(
                warehouse_id=delivery.zone.warehouse_id, now=now, delivery=delivery
            ).values_list("pk", flat=True)[:5]
        )
        for courier_id in candidates:
            courier = couriers_lock([courier_id]).get(courier_id)
            # Checked again under the courier's lock: another dispatch may have just offered.
            if courier is None or not courier.available or _courier_taken(courier):
                continue
            offer = DeliveryOffer.objects.create(
                delivery=delivery,
                courier=courier,
                expires_at=now + timedelta(seconds=settings.DELIVERY_OFFER_SECONDS),
            )
            delivery.status = Delivery.Status.OFFERED
            delivery.save(update_fields=["status"])
            enqueue_after_commit(
                task_names.DELIVERY_OFFER_EXPIRE,
                offer.pk,
                countdown=settings.DELIVERY_OFFER_SECONDS,
            )
            delivery_announce(delivery)
            return offer
    return None


def _courier_taken(courier: Courier) -> bool:
    return (
        Delivery.objects.filter(courier=courier, status__in=BUSY).exists()
        or DeliveryOffer.objects.filter(
            courier=courier, status=DeliveryOffer.Status.PENDING
        ).exists()
    )


def _offer_close(offer_id: int, status: str, now: datetime) -> tuple[Delivery, DeliveryOffer]:
    """Lock the offer's delivery, courier and the offer (in that order); close a pending offer."""
    delivery_id, courier_id = DeliveryOffer.objects.values_list("delivery_id", "courier_id").get(
        pk=offer_id
    )
    delivery = delivery_lock(delivery_id)
    courier = couriers_lock([courier_id])[courier_id]
    offer = DeliveryOffer.objects.select_for_update().get(pk=offer_id)
    offer.courier = courier
    if offer.status != DeliveryOffer.Status.PENDING:
        raise OfferUnavailable()
    offer.status, offer.answered_at = status, now
    offer.save(update_fields=["status", "answered_at"])
    if delivery.status == Delivery.Status.OFFERED:
        delivery.status = Delivery.Status.QUEUED
        delivery.save(update_fields=["status"])
    return delivery, offer


def offer_expire(*, offer_id: int, now: datetime | None = None) -> bool:
    """Close an offer whose time ran out and offer the delivery to the next courier.
    False when it was answered meanwhile or has not expired yet."""
    now = now or timezone.now()
    with transaction.atomic():
        expires_at = (
            DeliveryOffer.objects.filter(pk=offer_id, status=DeliveryOffer.Status.PENDING)
            .values_list("expires_at", flat=True)
            .first()
        )
        if expires_at is None or expires_at > now:
            return False
        try:
            delivery, offer = _offer_close(offer_id, DeliveryOffer.Status.EXPIRED, now)
        except OfferUnavailable:
            return False
        courier = offer.courier
        courier.missed_offers += 1
        fields = ["missed_offers"]
        if 0 < settings.DELIVERY_MISSED_OFFERS_LIMIT <= courier.missed_offers:
            courier.available, courier.available_since = False, None
            fields += ["available", "available_since"]
        courier.save(update_fields=fields)
        enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery.pk)
        delivery_announce(delivery)
    return True


def offer_decline(*, offer: DeliveryOffer, now: datetime | None = None) -> DeliveryOffer:
    """The courier says no: the next courier gets the offer at once."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery, offer = _offer_close(offer.pk, DeliveryOffer.Status.DECLINED, now)
        enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery.pk)
        delivery_announce(delivery)
    return offer


def offer_accept(*, offer: DeliveryOffer, now: datetime | None = None) -> Delivery:
    """The courier takes the delivery: assigned, the estimate recomputed and recorded, the
    customer told in the thread who is coming and the PIN to give at the door (the first
    time). Raises OfferUnavailable when it expired or was withdrawn."""
    now = now or timezone.now()
    with transaction.atomic():
        order_id = Delivery.objects.values_list("order_id", flat=True).get(pk=offer.delivery_id)
        order = order_lock(Order(pk=order_id))
        delivery = delivery_lock(offer.delivery_id)
        courier = couriers_lock([offer.courier_id])[offer.courier_id]
        offer = DeliveryOffer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != DeliveryOffer.Status.PENDING or offer.expires_at <= now:
            raise OfferUnavailable()
        delivery_action_check(delivery, "accept")
        offer.status, offer.answered_at = DeliveryOffer.Status.ACCEPTED, now
        offer.save(update_fields=["status", "answered_at"])
        courier.missed_offers = 0
        courier.save(update_fields=["missed_offers"])
        _assign(order, delivery, courier, now=now, actor=courier.access.actor)
    return delivery


def _assign(order: Order, delivery: Delivery, courier: Courier, *, now: datetime, actor: str):
    first_time = delivery.assigned_at is None
    delivery.status, delivery.courier, delivery.assigned_at = (
        Delivery.Status.ASSIGNED,
        courier,
        now,
    )
    delivery.courier_latitude = delivery.courier_longitude = delivery.courier_located_at = None
    estimate_apply(
        delivery, promise_now(delivery, now), reason="assigned", actor=actor, record=True
    )
    delivery.save()
    timeline_write(delivery, OrderEvent.Type.COURIER_ASSIGNED, actor, courier=courier.name)
    if first_time:
        message_post(
            order=order,
            role=OrderMessage.Role.SYSTEM,
            author_name="Delivery",
            author_ref="system:delivery",
            body=f"{courier.name} is bringing your order. Your delivery PIN is "
            f"{delivery_pin(delivery)}: give it to the courier at the door.",
            kind=OrderMessage.Kind.PIN,
        )
    delivery_announce(delivery)


def _unassign(delivery: Delivery, *, now: datetime, actor: str, reason: str) -> None:
    courier = delivery.courier
    delivery.status, delivery.courier = Delivery.Status.QUEUED, None
    delivery.courier_latitude = delivery.courier_longitude = delivery.courier_located_at = None
    delivery.dispatch_at = min(delivery.dispatch_at, now)
    estimate_apply(
        delivery, promise_now(delivery, now), reason="requeued", actor=actor, record=True
    )
    delivery.save()
    timeline_write(
        delivery,
        OrderEvent.Type.COURIER_UNASSIGNED,
        actor,
        courier=courier.name if courier else "",
        reason=reason,
    )
    enqueue_after_commit(task_names.DELIVERY_DISPATCH, delivery.pk)
    delivery_announce(delivery)


def delivery_drop(*, delivery: Delivery, courier: Courier, reason: str = "") -> Delivery:
    """The courier gives an accepted delivery back before pickup: it goes back in the queue
    (without them for a while)."""
    now = timezone.now()
    with transaction.atomic():
        order_lock(Order(pk=delivery.order_id))
        delivery = delivery_lock(delivery.pk)
        if delivery.courier_id != courier.pk:
            raise InvalidTransition(entity="delivery", current="not yours", action="drop")
        delivery_action_check(delivery, "drop")
        DeliveryOffer.objects.filter(
            delivery=delivery, courier=courier, status=DeliveryOffer.Status.ACCEPTED
        ).update(status=DeliveryOffer.Status.DROPPED, answered_at=now)
        _unassign(delivery, now=now, actor=courier.access.actor, reason=reason[:500])
    return delivery


def delivery_assign(*, delivery: Delivery, courier: Courier, actor: str) -> Delivery:
    """Staff assign a courier by hand (any open offer is withdrawn). Raises CourierBusy."""
    now = timezone.now()
    with transaction.atomic():
        order = order_lock(Order(pk=delivery.order_id))
        delivery = delivery_lock(delivery.pk)
        delivery_action_check(delivery, "assign")
        ids = [courier.pk] + ([delivery.courier_id] if delivery.courier_id else [])
        courier = couriers_lock(ids)[courier.pk]
        if not courier.active:
            raise InvalidTransition(entity="courier", current="inactive", action="assign")
        if delivery.courier_id == courier.pk:
            return delivery
        if Delivery.objects.filter(courier=courier, status__in=BUSY).exists():
            raise CourierBusy()
        DeliveryOffer.objects.filter(delivery=delivery, status=DeliveryOffer.Status.PENDING).update(
            status=DeliveryOffer.Status.WITHDRAWN, answered_at=now
        )
        DeliveryOffer.objects.filter(courier=courier, status=DeliveryOffer.Status.PENDING).update(
            status=DeliveryOffer.Status.WITHDRAWN, answered_at=now
        )
        _assign(order, delivery, courier, now=now, actor=actor)
    return delivery


def delivery_requeue(*, delivery: Delivery, actor: str, reason: str = "") -> Delivery:
    """Staff take the delivery from its courier (or its open offer) and queue it again."""
    now = timezone.now()
    with transaction.atomic():
        order_lock(Order(pk=delivery.order_id))
        delivery = delivery_lock(delivery.pk)
        delivery_action_check(delivery, "requeue")
        DeliveryOffer.objects.filter(delivery=delivery, status=DeliveryOffer.Status.PENDING).update(
            status=DeliveryOffer.Status.WITHDRAWN, answered_at=now
        )
        _unassign(delivery, now=now, actor=actor, reason=reason[:500] or "Requeued by staff.")
    return delivery


def deliveries_dispatch_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """What beat runs every few seconds, so a lost message never strands a delivery:
    expire overdue offers, offer due deliveries that have none."""
    now = now or timezone.now()
    overdue = DeliveryOffer.objects.filter(
        status=DeliveryOffer.Status.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)[:limit]
    expired = sum(offer_expire(offer_id=offer_id, now=now) for offer_id in list(overdue))
    pending = DeliveryOffer.objects.filter(
        delivery=OuterRef("pk"), status=DeliveryOffer.Status.PENDING
    )
    due = (
        Delivery.objects.filter(dispatch_at__lte=now, provider=OWN_COURIERS)
        .exclude(order__status=Order.Status.PENDING_PAYMENT)  # sent once paid
        .annotate(has_pending=Exists(pending))
        .filter(
            Q(status__in=[Delivery.Status.QUEUED, Delivery.Status.SCHEDULED])
            | Q(status=Delivery.Status.OFFERED, has_pending=False)
        )
        .order_by("dispatch_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    offered = sum(
        delivery_dispatch(delivery_id=delivery_id, now=now) is not None for delivery_id in list(due)
    )
    return {"expired": expired, "offered": offered}


def courier_dispatch(*, courier_id: int, now: datetime | None = None) -> DeliveryOffer | None:
    """A courier just became available: offer the oldest waiting delivery of their stores."""
    now = now or timezone.now()
    warehouses = Courier.warehouses.through.objects.filter(courier_id=courier_id).values(
        "warehouse_id"
    )
    waiting = (
        Delivery.objects.filter(
            status=Delivery.Status.QUEUED,
            dispatch_at__lte=now,
            provider=OWN_COURIERS,
            zone__warehouse_id__in=warehouses,
        )
        .exclude(order__status=Order.Status.PENDING_PAYMENT)
        .order_by("dispatch_at", "id")
        .values_list("pk", flat=True)[:5]
    )
    for delivery_id in list(waiting):
        offer = delivery_dispatch(delivery_id=delivery_id, now=now)
        if offer is not None:
            return offer
    return None
