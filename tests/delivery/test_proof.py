"""Pickup and proof of delivery: the customer's PIN (attempts limited) or a photo."""

from __future__ import annotations

from delivery.events import delivery_pin
from delivery.setup import zone_update
from fulfillment.models import Fulfillment
from inventory.models import StockLevel
from orders.models import OrderEvent
from tests.delivery.conftest import assigned


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10000:04d}"


def test_pickup_ships_from_the_store_and_the_right_pin_delivers_and_completes(shop):
    answer, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"

    picked = api.post(f"{base}/pickup")

    assert picked.status_code == 200, picked.json()
    assert picked.json()["status"] == "picked_up"
    shipment = Fulfillment.objects.get(order_id=int(answer["id"]))
    assert (shipment.status, shipment.warehouse.code) == ("shipped", "store-1")
    assert StockLevel.objects.get().on_hand == 48

    done = api.post(f"{base}/complete", {"pin": answer["delivery"]["pin"]})

    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "delivered"
    order = shop.api.get(f"/api/v1/store/orders/{answer['token']}").json()
    assert (order["status"], order["fulfillment_status"]) == ("completed", "fulfilled")
    assert order["delivery"]["proof"] == "pin" and order["delivery"]["pin"] is None
    proof = OrderEvent.objects.get(order_id=int(answer["id"]), type="delivery_proof")
    assert proof.data == {"proof": "pin"}
    assert "delivery_proof" in [event["type"] for event in order["timeline"]]


def test_a_wrong_pin_is_refused_counted_and_locked_after_the_last_attempt(shop, settings):
    settings.DELIVERY_PIN_ATTEMPTS = 3
    answer, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"
    api.post(f"{base}/pickup")
    bad = wrong(delivery_pin(delivery))

    answers = [api.post(f"{base}/complete", {"pin": bad}) for _ in range(3)]

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert [a.json()["attempts_left"] for a in answers] == [2, 1, 0]
    assert {a.json()["code"] for a in answers} == {"wrong_pin"}
    locked = api.post(f"{base}/complete", {"pin": delivery_pin(delivery)})  # even the right one
    assert locked.status_code == 409 and locked.json()["code"] == "pin_locked"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.pin_attempts) == ("picked_up", 3)
    refused = OrderEvent.objects.filter(order_id=int(answer["id"]), type="delivery_pin_refused")
    assert [event.data["attempts"] for event in refused] == [1, 2, 3]
    # A photo still proves the handover.
    photo = api.post(f"{base}/complete", {"photo_url": "https://photos.example/door.jpg"})
    assert photo.status_code == 200 and photo.json()["status"] == "delivered"
    assert OrderEvent.objects.get(order_id=int(answer["id"]), type="delivery_proof").data == {
        "proof": "photo",
        "photo_url": "https://photos.example/door.jpg",
    }


def test_a_zone_that_takes_only_a_pin_refuses_a_photo(shop):
    zone_update(zone=shop.zone, fields={"proof": "pin"})
    _, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"
    api.post(f"{base}/pickup")

    refused = api.post(f"{base}/complete", {"photo_url": "https://photos.example/door.jpg"})
    nothing = api.post(f"{base}/complete", {})

    assert refused.status_code == 422 and refused.json()["code"] == "proof_required"
    assert nothing.json()["code"] == "proof_required"
    delivery.refresh_from_db()
    assert delivery.status == "picked_up"


def test_a_delivery_cannot_be_completed_before_pickup(shop):
    answer, delivery, _, api = assigned(shop)

    early = api.post(
        f"/api/v1/fulfiller/deliveries/{delivery.pk}/complete", {"pin": answer["delivery"]["pin"]}
    )

    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"


def test_staff_can_confirm_a_handover_when_the_pin_is_locked(shop, admin_api):
    _, delivery, _, api = assigned(shop)
    api.post(f"/api/v1/fulfiller/deliveries/{delivery.pk}/pickup")

    done = admin_api.post(
        f"/api/v1/admin/deliveries/{delivery.pk}/complete", {"note": "Customer called the shop."}
    )

    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "delivered" and done.json()["proof"] == "staff"
