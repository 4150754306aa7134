"""A slot the shop deletes while carts have chosen it: the carts are not moved to "as soon
as possible" unasked. Their answer says the slot is gone, completing them answers 422
`delivery_slot_unavailable` (nothing placed) until a slot, or none, is chosen again; and
a cart choosing the slot while it is deleted is either counted or told it is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.models import CartDelivery, DeliverySlot
from delivery.setup import slot_delete, slots_create
from inventory.models import Reservation
from orders.models import Order
from tests.delivery.conftest import ADDRESS, NEAR, PAYMENT
from tests.parallel import while_held


def a_slot(zone, hours_ahead: int = 3) -> DeliverySlot:
    starts = (timezone.now() + timedelta(hours=hours_ahead)).replace(
        minute=0, second=0, microsecond=0
    )
    return slots_create(
        zone=zone, starts_at=starts, ends_at=starts + timedelta(hours=1), slot_minutes=60,
        capacity=5,
    )[0]  # fmt: skip


def a_cart_in(shop, slot: DeliverySlot) -> str:
    cart = shop.api.post("/api/v1/store/carts", {"lines": [{"sku": "TEE", "quantity": 1}]})
    assert cart.status_code == 201, cart.json()
    cart_id = cart.json()["id"]
    chosen = shop.api.patch(
        f"/api/v1/store/carts/{cart_id}",
        {
            "email": "ada@example.com",
            "shipping_address": {**ADDRESS, **NEAR},
            "shipping_method": "express",
            "delivery_slot": str(slot.pk),
        },
    )
    assert chosen.status_code == 200, chosen.json()
    assert chosen.json()["delivery"]["slot"]["id"] == str(slot.pk)
    return cart_id


def test_a_cart_whose_slot_was_deleted_says_so_and_does_not_check_out_as_soon_as_possible(shop):
    slot = a_slot(shop.zone)
    cart_id = a_cart_in(shop, slot)

    assert slot_delete(slot=slot) == 1

    cart = shop.api.get(f"/api/v1/store/carts/{cart_id}").json()
    assert cart["delivery"]["slot"] is None
    assert cart["delivery"]["problem"]["code"] == "delivery_slot_unavailable"
    assert "withdrawn" in cart["delivery"]["problem"]["detail"]
    refused = shop.api.post(f"/api/v1/store/carts/{cart_id}/complete", {"payment": PAYMENT})
    assert refused.status_code == 422
    assert refused.json()["code"] == "delivery_slot_unavailable"
    assert not Order.objects.exists()

    later = a_slot(shop.zone, hours_ahead=5)
    chosen = shop.api.patch(f"/api/v1/store/carts/{cart_id}", {"delivery_slot": str(later.pk)})
    assert chosen.json()["delivery"]["problem"] is None
    placed = shop.api.post(f"/api/v1/store/carts/{cart_id}/complete", {"payment": PAYMENT})
    assert placed.status_code == 201, placed.json()
    later.refresh_from_db()
    assert later.booked == 1


def test_choosing_as_soon_as_possible_after_the_slot_went_checks_out(shop):
    slot = a_slot(shop.zone)
    cart_id = a_cart_in(shop, slot)
    slot_delete(slot=slot)

    chosen = shop.api.patch(f"/api/v1/store/carts/{cart_id}", {"delivery_slot": None})

    assert chosen.json()["delivery"]["problem"] is None
    placed = shop.api.post(f"/api/v1/store/carts/{cart_id}/complete", {"payment": PAYMENT})
    assert placed.status_code == 201, placed.json()


@pytest.mark.django_db(transaction=True)
def test_a_cart_choosing_a_slot_being_deleted_is_told_it_is_gone(shop):
    slot = a_slot(shop.zone)
    cart_id = a_cart_in(shop, a_slot(shop.zone, hours_ahead=5))

    response = while_held(
        lambda: slot_delete(slot=slot),
        lambda: shop.api.patch(f"/api/v1/store/carts/{cart_id}", {"delivery_slot": str(slot.pk)}),
    )

    assert response.status_code == 422
    assert response.json()["code"] == "delivery_slot_unavailable"
    assert not DeliverySlot.objects.filter(pk=slot.pk).exists()
    assert CartDelivery.objects.get(cart_id=cart_id).slot_withdrawn is False


@pytest.mark.django_db(transaction=True)
def test_a_deletion_waits_for_a_cart_choosing_the_slot_and_counts_it(shop):
    slot = a_slot(shop.zone)
    cart_id = a_cart_in(shop, a_slot(shop.zone, hours_ahead=5))

    def choose() -> None:
        answer = shop.api.patch(f"/api/v1/store/carts/{cart_id}", {"delivery_slot": str(slot.pk)})
        assert answer.status_code == 200, answer.json()

    carts = while_held(choose, lambda: slot_delete(slot=slot))

    assert carts == 1
    choice = CartDelivery.objects.get(cart_id=cart_id)
    assert (choice.slot_id, choice.slot_withdrawn) == (None, True)


@pytest.mark.django_db(transaction=True)
def test_a_checkout_booking_a_slot_being_deleted_is_told_it_is_unavailable_not_full(shop):
    """The booking waits for the deletion's lock, then finds no row: the slot was withdrawn
    (`delivery_slot_unavailable`), not full; nothing is placed and no stock stays held."""
    slot = a_slot(shop.zone)
    body = {
        "lines": [{"sku": "TEE", "quantity": 1}],
        "email": "ada@example.com",
        "shipping_address": {**ADDRESS, **NEAR},
        "shipping_method": "express",
        "delivery_slot": str(slot.pk),
        "payment": PAYMENT,
    }

    response = while_held(
        lambda: slot_delete(slot=slot),
        lambda: shop.api.post("/api/v1/store/checkout", body, HTTP_IDEMPOTENCY_KEY="gone"),
    )

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "delivery_slot_unavailable"
    assert not Order.objects.exists()
    assert not DeliverySlot.objects.filter(pk=slot.pk).exists()
    assert not Reservation.objects.exists()
