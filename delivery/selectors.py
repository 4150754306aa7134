"""Delivery reads: a courier's deliveries, offers and orders; deliveries as staff list them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from backoffice.ids import is_id
from catalog.models import Channel
from delivery.models import Courier, Delivery, DeliveryOffer
from orders.models import FulfillerAccess, Order

DELIVERY_RELATED = ("order__channel", "zone__warehouse", "courier__access", "slot")


def courier_for_access(access: FulfillerAccess) -> Courier | None:
    courier = getattr(access, "_courier", None)
    if courier is None:
        courier = Courier.objects.filter(access=access).first()
    return courier


def courier_deliveries(*, courier: Courier, now: datetime | None = None) -> QuerySet[Delivery]:
    """Deliveries the courier has now, or handed over less than DELIVERY_COURIER_THREAD_HOURS
    ago: what the courier may read (and the orders' threads)."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.DELIVERY_COURIER_THREAD_HOURS)
    return (
        Delivery.objects.filter(courier=courier)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=since))
        .select_related(*DELIVERY_RELATED)
        .order_by("-id")
    )


def courier_orders(*, courier: Courier) -> QuerySet[Order]:
    delivery_orders = courier_deliveries(courier=courier).values("order_id")
    return (
        Order.objects.filter(pk__in=delivery_orders)
        .select_related("channel")
        .prefetch_related("lines")
        .order_by("id")
    )


def courier_delivery_get(*, courier: Courier, pk: str) -> Delivery | None:
    if not is_id(pk):
        return None
    return courier_deliveries(courier=courier).filter(pk=int(pk)).first()


def courier_offers(*, courier: Courier, now: datetime | None = None) -> QuerySet[DeliveryOffer]:
    now = now or timezone.now()
    return (
        DeliveryOffer.objects.filter(
            courier=courier, status=DeliveryOffer.Status.PENDING, expires_at__gt=now
        )
        .select_related("delivery__zone__warehouse", "delivery__order")
        .order_by("id")
    )


def courier_offer_get(*, courier: Courier, pk: str) -> DeliveryOffer | None:
    if not is_id(pk):
        return None
    return DeliveryOffer.objects.filter(courier=courier, pk=int(pk)).first()


def delivery_list(*, channel: Channel | None = None) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.select_related(*DELIVERY_RELATED).order_by("-id")
    if channel is not None:
        deliveries = deliveries.filter(order__channel=channel)
    return deliveries


def delivery_get(*, pk: str, channel: Channel | None = None) -> Delivery | None:
    if not is_id(pk):
        return None
    return delivery_list(channel=channel).filter(pk=int(pk)).first()


def delivery_for_order(order: Order) -> Delivery | None:
    return (
        Delivery.objects.select_related("zone", "courier__access", "slot")
        .filter(order=order)
        .first()
    )


def courier_location_share_check(*, courier: Courier, order: Order) -> None:
    """A courier shares a location in a thread only while on that order's delivery."""
    if not Delivery.objects.filter(
        order=order,
        courier=courier,
        status__in=[Delivery.Status.ASSIGNED, Delivery.Status.PICKED_UP],
    ).exists():
        from delivery.errors import NoActiveDelivery

        raise NoActiveDelivery("A location is shared only while on this delivery.")
