"""Scheduled delivery slots: concurrent checkouts can never book past a slot's capacity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.errors import DeliverySlotFull
from delivery.models import Delivery, DeliverySlot
from delivery.setup import slots_create
from inventory.models import Allocation
from orders.models import Order
from orders.services import CheckoutInput, checkout_direct, order_cancel
from orders.services.validation import LineRequest
from tests.delivery.conftest import ADDRESS, NEAR, PAYMENT
from tests.parallel import run_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def a_slot(zone, *, capacity: int, hours_ahead: int = 3) -> DeliverySlot:
    starts = (timezone.now() + timedelta(hours=hours_ahead)).replace(
        minute=0, second=0, microsecond=0
    )
    return slots_create(
        zone=zone, starts_at=starts, ends_at=starts + timedelta(hours=1), slot_minutes=60,
        capacity=capacity,
    )[0]  # fmt: skip


def checkout_in(shop, slot: DeliverySlot) -> Order:
    return checkout_direct(
        channel=shop.channel,
        data=CheckoutInput(
            lines=[LineRequest(sku="TEE", quantity=1)],
            shipping_address={**ADDRESS, **NEAR},
            shipping_method="express",
            payment=PAYMENT,
            delivery_slot=str(slot.pk),
        ),
    ).order


def test_twelve_checkouts_racing_for_three_places_get_exactly_three(shop):
    slot = a_slot(shop.zone, capacity=3)

    outcomes = run_parallel(12, lambda _: checkout_in(shop, slot))

    placed = [outcome for outcome in outcomes if isinstance(outcome, Order)]
    refused = [outcome for outcome in outcomes if not isinstance(outcome, Order)]
    assert len(placed) == 3
    assert [type(error) for error in refused] == [DeliverySlotFull] * 9
    slot.refresh_from_db()
    assert (slot.booked, slot.capacity) == (3, 3)
    assert Delivery.objects.filter(slot=slot).count() == 3
    # A refusal placed nothing: no order, no stock held.
    assert Order.objects.count() == 3
    assert Allocation.objects.count() == 3


def test_a_scheduled_delivery_promises_its_slot_and_waits_to_be_dispatched(shop):
    slot = a_slot(shop.zone, capacity=2)

    answer = shop.checkout(slot=slot)

    delivery = answer["delivery"]
    assert delivery["status"] == "scheduled"
    assert delivery["scheduled"]["starts_at"] == delivery["estimated_arrival"]["earliest"]
    assert delivery["estimated_arrival"]["latest"] == delivery["scheduled"]["ends_at"]
    row = Delivery.objects.get(order_id=int(answer["id"]))
    # Offered to couriers a quarter of an hour before it must leave the store.
    assert row.dispatch_at == slot.starts_at - timedelta(minutes=15) - timedelta(
        hours=row.distance_meters / 1000 / 15
    )
    options = shop.api.get("/api/v1/store/delivery-options?latitude=52.53&longitude=13.405")
    listed = options.json()["results"][0]["slots"]
    assert [(s["id"], s["remaining"]) for s in listed] == [(str(slot.pk), 1)]


def test_cancelling_an_order_gives_its_place_in_the_slot_back(shop):
    slot = a_slot(shop.zone, capacity=1)
    order = checkout_in(shop, slot)
    assert shop.checkout(slot=slot, expect=409)["code"] == "delivery_slot_full"

    order_cancel(order=order, actor="staff")

    slot.refresh_from_db()
    assert slot.booked == 0
    assert Delivery.objects.get(order=order).status == "cancelled"
    assert shop.checkout(slot=slot)["delivery"]["status"] == "scheduled"


def test_a_slot_that_starts_too_soon_or_of_another_zone_is_refused(shop):
    soon = a_slot(shop.zone, capacity=5, hours_ahead=0)  # starts within the preparation time
    soon.starts_at = timezone.now() + timedelta(minutes=5)
    soon.ends_at = soon.starts_at + timedelta(hours=1)
    soon.save()

    problem = shop.checkout(slot=soon, expect=422)

    assert problem["code"] == "delivery_slot_unavailable"
    soon.refresh_from_db()
    assert soon.booked == 0
    assert Order.objects.count() == 0
