"""Dispatch: offer, decline, timeout and re-offer, drop, staff assignment, the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.dispatch import (
    deliveries_dispatch_sweep,
    delivery_dispatch,
    offer_expire,
)
from delivery.models import Delivery, DeliveryOffer
from orders.models import OrderEvent, OrderMessage
from tests.delivery.conftest import delivery_of


def offered_to(delivery: Delivery):
    return DeliveryOffer.objects.get(delivery=delivery, status="pending").courier


def test_a_new_delivery_is_offered_to_the_longest_idle_courier_who_accepts_it(shop):
    first, first_api = shop.courier("Sam")
    shop.courier("Kim")
    delivery = delivery_of(shop.checkout())

    offer = delivery_dispatch(delivery_id=delivery.pk)

    assert offer.courier == first
    assert timedelta(seconds=44) < offer.expires_at - timezone.now() <= timedelta(seconds=45)
    state = first_api.get("/api/v1/fulfiller/courier").json()
    assert [o["id"] for o in state["offers"]] == [str(offer.pk)]
    assert state["offers"][0]["dropoff_postal_code"] == "10119"
    assert state["offers"][0]["pickup"]["name"] == "Mitte store"
    assert "Torstr" not in str(state)  # the drop-off address comes with the assignment

    accepted = first_api.post(f"/api/v1/fulfiller/offers/{offer.pk}/accept")

    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "assigned"
    assert accepted.json()["dropoff"]["address"]["line1"] == "Torstr. 1"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.courier) == ("assigned", first)
    types = list(OrderEvent.objects.filter(order=delivery.order).values_list("type", flat=True))
    assert types[-2:] == ["delivery_estimate", "courier_assigned"]
    pin_message = OrderMessage.objects.get(order=delivery.order, kind="pin")
    assert f"PIN is {delivery_pin(delivery)}" in pin_message.body


def delivery_pin(delivery):
    from delivery.events import delivery_pin as pin

    return pin(delivery)


def test_a_declined_offer_goes_to_the_next_courier_at_once(shop):
    _sam, sam_api = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    delivery = delivery_of(shop.checkout())
    offer = delivery_dispatch(delivery_id=delivery.pk)

    declined = sam_api.post(f"/api/v1/fulfiller/offers/{offer.pk}/decline")
    assert declined.status_code == 204
    delivery_dispatch(delivery_id=delivery.pk)  # what the queued task does

    assert offered_to(delivery) == kim
    again = sam_api.post(f"/api/v1/fulfiller/offers/{offer.pk}/accept")
    assert again.status_code == 409 and again.json()["code"] == "offer_unavailable"


def test_an_offer_not_accepted_in_time_expires_and_goes_to_the_next(shop, settings):
    settings.DELIVERY_MISSED_OFFERS_LIMIT = 2
    sam, sam_api = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    delivery = delivery_of(shop.checkout())
    offer = delivery_dispatch(delivery_id=delivery.pk)
    assert offer_expire(offer_id=offer.pk) is False  # not yet: its 45 seconds run

    later = timezone.now() + timedelta(seconds=46)
    assert offer_expire(offer_id=offer.pk, now=later) is True
    assert offer_expire(offer_id=offer.pk, now=later) is False  # run twice: nothing more
    delivery_dispatch(delivery_id=delivery.pk, now=later)

    assert offered_to(delivery) == kim
    sam.refresh_from_db()
    assert (sam.missed_offers, sam.available) == (1, True)
    late = sam_api.post(f"/api/v1/fulfiller/offers/{offer.pk}/accept")
    assert late.json()["code"] == "offer_unavailable"


def test_a_courier_who_lets_offers_expire_is_set_unavailable(shop, settings):
    settings.DELIVERY_MISSED_OFFERS_LIMIT = 2
    sam, _ = shop.courier("Sam")
    for _ in range(2):
        delivery = delivery_of(shop.checkout(quantity=1))
        offer = delivery_dispatch(delivery_id=delivery.pk)
        assert offer.courier == sam
        offer_expire(offer_id=offer.pk, now=timezone.now() + timedelta(seconds=50))

    sam.refresh_from_db()
    assert (sam.available, sam.missed_offers) == (False, 2)


def test_a_sweep_expires_lost_offers_and_offers_deliveries_whose_message_was_lost(shop):
    sam, _ = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    first = delivery_of(shop.checkout(quantity=1))
    second = delivery_of(shop.checkout(quantity=1))
    offer = delivery_dispatch(delivery_id=first.pk)  # the second's message was lost

    result = deliveries_dispatch_sweep(now=timezone.now() + timedelta(seconds=50))

    assert result == {"expired": 1, "offered": 2}
    offer.refresh_from_db()
    assert offer.status == "expired"
    assert offered_to(first) == kim  # Sam missed it
    assert offered_to(second) == sam


def test_a_courier_who_drops_a_delivery_puts_it_back_in_the_queue(shop):
    _sam, sam_api = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    answer = shop.checkout()
    delivery = delivery_of(answer)
    offer = delivery_dispatch(delivery_id=delivery.pk)
    sam_api.post(f"/api/v1/fulfiller/offers/{offer.pk}/accept")

    dropped = sam_api.post(
        f"/api/v1/fulfiller/deliveries/{delivery.pk}/drop", {"reason": "Flat tyre"}
    )

    assert dropped.status_code == 204
    delivery.refresh_from_db()
    assert (delivery.status, delivery.courier) == ("queued", None)
    event = OrderEvent.objects.filter(order=delivery.order, type="courier_unassigned").get()
    assert event.data == {"courier": "Sam", "reason": "Flat tyre"}
    # Sam no longer sees the order; the next offer goes to Kim, not back to Sam.
    assert sam_api.get(f"/api/v1/fulfiller/orders/{answer['id']}/messages").status_code == 404
    delivery_dispatch(delivery_id=delivery.pk)
    assert offered_to(delivery) == kim


def test_staff_assign_a_courier_by_hand_and_the_open_offer_is_withdrawn(shop, admin_api):
    _sam, _ = shop.courier("Sam")
    kim, kim_api = shop.courier("Kim", available=False)
    delivery = delivery_of(shop.checkout())
    offer = delivery_dispatch(delivery_id=delivery.pk)

    answer = admin_api.post(
        f"/api/v1/admin/deliveries/{delivery.pk}/assign", {"courier": str(kim.pk)}
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["courier_id"] == str(kim.pk)
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    assert kim_api.get(f"/api/v1/fulfiller/deliveries/{delivery.pk}").json()["status"] == "assigned"
    other = delivery_of(shop.checkout(quantity=1))
    busy = admin_api.post(f"/api/v1/admin/deliveries/{other.pk}/assign", {"courier": str(kim.pk)})
    assert busy.status_code == 409 and busy.json()["code"] == "courier_busy"


def test_no_free_courier_leaves_the_delivery_queued_until_one_becomes_available(shop):
    delivery = delivery_of(shop.checkout())
    assert delivery_dispatch(delivery_id=delivery.pk) is None

    courier, api = shop.courier("Sam", available=False)
    state = api.post("/api/v1/fulfiller/courier/availability", {"available": True})
    assert state.status_code == 200 and state.json()["available"] is True
    from delivery.dispatch import courier_dispatch

    offer = courier_dispatch(courier_id=courier.pk)  # what the queued task does

    assert offer.delivery == delivery and offer.courier == courier


def test_a_courier_going_unavailable_withdraws_their_open_offer(shop):
    _sam, sam_api = shop.courier("Sam")
    kim, _ = shop.courier("Kim")
    delivery = delivery_of(shop.checkout())
    offer = delivery_dispatch(delivery_id=delivery.pk)

    sam_api.post("/api/v1/fulfiller/courier/availability", {"available": False})
    delivery_dispatch(delivery_id=delivery.pk)

    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    assert offered_to(delivery) == kim


@pytest.mark.parametrize("path", ["courier", "deliveries"])
def test_a_token_issued_for_orders_is_not_a_courier(shop, path):
    from orders.courier_access.services import fulfiller_access_create
    from orders.models import Order
    from tests.conftest import Api

    order = Order.objects.get(pk=int(shop.checkout()["id"]))
    _, token = fulfiller_access_create(name="Parcel", orders=[order])

    answer = Api(token).get(f"/api/v1/fulfiller/{path}")

    assert answer.status_code == 403
