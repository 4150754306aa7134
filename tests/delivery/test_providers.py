"""A third-party fleet plugged in through DeliveryProvider: booked after checkout, its
status and location callbacks move the delivery as the shop's couriers do."""

from __future__ import annotations

import pytest

from delivery import providers
from delivery.providers import (
    delivery_provider_cancel,
    delivery_provider_create,
    provider_location_event,
    provider_status_event,
)
from delivery.setup import zone_update
from fulfillment.models import Fulfillment
from orders.models import Order, OrderEvent
from orders.services import order_cancel
from tests.delivery import fleet
from tests.delivery.conftest import delivery_of


@pytest.fixture
def fleet_zone(shop, settings):
    settings.DELIVERY_PROVIDERS = {
        "couriers": "delivery.providers.OwnCouriers",
        "fleet": "tests.delivery.fleet.StandInFleet",
    }
    providers.provider_get.cache_clear()
    fleet.BOOKED.clear()
    fleet.CANCELLED.clear()
    zone_update(zone=shop.zone, fields={"provider": "fleet"})
    yield shop
    providers.provider_get.cache_clear()


def test_a_fleet_books_the_delivery_once_and_its_callbacks_carry_it_to_the_door(fleet_zone):
    shop = fleet_zone
    answer = shop.checkout()
    delivery = delivery_of(answer)

    assert delivery_provider_create(delivery_id=delivery.pk) == f"fleet-{delivery.pk}"
    assert delivery_provider_create(delivery_id=delivery.pk) == f"fleet-{delivery.pk}"  # again
    assert [{"id": f"fleet-{delivery.pk}", "pickup": "store-1"}] == fleet.BOOKED

    external = f"fleet-{delivery.pk}"
    provider_status_event(provider="fleet", external_id=external, status="DASHER_CONFIRMED",
                          courier_name="Dana")  # fmt: skip
    provider_location_event(provider="fleet", external_id=external, latitude=52.521,
                            longitude=13.405)  # fmt: skip
    provider_status_event(provider="fleet", external_id=external, status="DASHER_PICKED_UP")
    provider_status_event(provider="fleet", external_id=external, status="dasher_confirmed")
    delivery.refresh_from_db()
    assert delivery.status == "picked_up"  # a late, older status changed nothing
    assert Fulfillment.objects.get(order_id=delivery.order_id).status == "shipped"

    provider_status_event(provider="fleet", external_id=external, status="DASHER_DROPPED_OFF",
                          photo_url="https://fleet.example/proof.jpg")  # fmt: skip

    order = Order.objects.get(pk=delivery.order_id)
    assert (order.status, order.fulfillment_status) == ("completed", "fulfilled")
    proof = OrderEvent.objects.get(order=order, type="delivery_proof")
    assert proof.data == {"proof": "photo", "photo_url": "https://fleet.example/proof.jpg",
                          "by": "fleet"}  # fmt: skip
    assert OrderEvent.objects.get(order=order, type="courier_assigned").data == {"courier": "Dana"}


def test_a_cancelled_order_calls_the_fleet_off(fleet_zone):
    answer = fleet_zone.checkout()
    delivery = delivery_of(answer)
    delivery_provider_create(delivery_id=delivery.pk)

    order_cancel(order=Order.objects.get(pk=delivery.order_id), actor="staff")
    delivery_provider_cancel(delivery_id=delivery.pk)  # the task queued after the cancel

    assert [f"fleet-{delivery.pk}"] == fleet.CANCELLED
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"


def test_a_zone_names_only_a_known_provider(shop):
    from backoffice.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        zone_update(zone=shop.zone, fields={"provider": "nobody"})
    assert list(refused.value.errors) == ["provider"]
