"""A shop that delivers: a store in Berlin with a 3 km zone, couriers, and helpers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backoffice import jobs
from catalog.models import Channel
from delivery.couriers import courier_availability_set, courier_create
from delivery.models import Courier, Delivery, DeliveryZone
from delivery.setup import zone_create
from orders.models import Order
from orders.services.setup import shipping_method_create
from tests.conftest import Api
from tests.delivery.streams import asgi_server  # noqa: F401 (a fixture)
from tests.factories import make_key, make_product, make_warehouse, receive
from tests.outbox.conftest import start_celery, test_broker  # noqa: F401 (fixtures)

STORE = (52.5200, 13.4050)  # Berlin, Alexanderplatz
NEAR = {"latitude": 52.5300, "longitude": 13.4050}  # ~1.1 km north
FAR = {"latitude": 52.6200, "longitude": 13.4050}  # ~11 km north
ADDRESS = {"name": "Ada Lovelace", "line1": "Torstr. 1", "city": "Berlin",
           "postal_code": "10119", "country": "DE", "phone": "+49 30 1234567"}  # fmt: skip
PAYMENT = {"provider": "test", "token": "tok_approve"}


@pytest.fixture(autouse=True)
def _no_timers(monkeypatch):
    """In-process countdowns would fire in a later test: tests call the due work themselves."""
    monkeypatch.setattr(jobs, "IN_PROCESS_TIMERS", False)


@dataclass
class Shop:
    channel: Channel
    zone: DeliveryZone
    api: Api

    def courier(self, name: str = "Sam", available: bool = True) -> tuple[Courier, Api]:
        courier, token = courier_create(name=name, warehouses=[self.zone.warehouse])
        if available:
            courier = courier_availability_set(courier=courier, available=True)
        return courier, Api(token)

    def checkout(self, *, sku="TEE", quantity=2, address=None, slot=None, expect=201, **extra):
        body = {
            "lines": [{"sku": sku, "quantity": quantity}],
            "email": "ada@example.com",
            "phone": "+49 170 5550123",
            "shipping_address": {**ADDRESS, **NEAR} if address is None else address,
            "shipping_method": "express",
            "payment": PAYMENT,
            **extra,
        }
        if slot is not None:
            body["delivery_slot"] = str(slot.pk)
        response = self.api.post("/api/v1/store/checkout", body)
        assert response.status_code == expect, response.json()
        return response.json()


def delivery_of(order: dict) -> Delivery:
    return Delivery.objects.select_related("zone", "courier__access").get(order_id=int(order["id"]))


def order_of(answer: dict) -> Order:
    return Order.objects.get(pk=int(answer["id"]))


@pytest.fixture
def shop(db, web) -> Shop:
    """`web` sells TEE (20.00, 50 in the store) and delivers from store-1 within 3 km."""
    store = make_warehouse("store-1", channels=[web], kind="store", name="Mitte store")
    tee = make_product(slug="tee", skus={"TEE": "20.00"}, channels=[web]).variants.get()
    receive(tee, store, 50)
    shipping_method_create(
        channel=web, code="express", name="Delivery in 30 minutes", kind="local_delivery",
        price="0.00",
    )  # fmt: skip
    shipping_method_create(channel=web, code="standard", name="Standard", price="4.99")
    zone = zone_create(
        code="mitte",
        warehouse=store,
        fields={
            "name": "Berlin Mitte",
            "kind": "radius",
            "latitude": STORE[0],
            "longitude": STORE[1],
            "radius_meters": 3000,
            "currency": "USD",
            "fee": "3.90",
            "free_over": "60.00",
            "minimum_order": "15.00",
            "preparation_minutes": 10,
            "timezone": "Europe/Berlin",
        },
    )
    return Shop(channel=web, zone=zone, api=Api(make_key(web)[1]))


def assigned(shop: Shop, name: str = "Sam", **checkout) -> tuple[dict, Delivery, Courier, Api]:
    """A checkout whose delivery was offered to a new courier, who accepted it."""
    from delivery.dispatch import delivery_dispatch

    courier, api = shop.courier(name)
    answer = shop.checkout(**checkout)
    delivery = delivery_of(answer)
    offer = delivery_dispatch(delivery_id=delivery.pk)
    accepted = api.post(f"/api/v1/fulfiller/offers/{offer.pk}/accept")
    assert accepted.status_code == 200, accepted.json()
    delivery.refresh_from_db()
    return answer, delivery, courier, api
