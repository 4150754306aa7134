"""Privacy: a courier sees no customer contact and no order not assigned to them; the
courier's positions are taken only while on the delivery and erased on schedule."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from delivery.dispatch import delivery_dispatch
from delivery.models import DeliveryLocation
from delivery.privacy import delivery_locations_erase
from orders.models import OrderMessage
from tests.delivery.conftest import assigned, delivery_of

LOCATION = {"latitude": 52.525, "longitude": 13.405}


def test_a_courier_sees_no_contact_details_of_the_customer(shop):
    answer, delivery, _, api = assigned(shop)

    views = [
        api.get(f"/api/v1/fulfiller/deliveries/{delivery.pk}").json(),
        api.get("/api/v1/fulfiller/orders").json(),
        api.get("/api/v1/fulfiller/courier").json(),
    ]

    text = str(views)
    assert "ada@example.com" not in text
    assert "5550123" not in text and "1234567" not in text  # neither phone
    assert views[0]["dropoff"]["address"]["phone"] == "*********67"
    assert views[1]["results"][0]["customer_phone"] == "**********23"
    thread = api.get(f"/api/v1/fulfiller/orders/{answer['id']}/messages").json()["results"]
    pin = next(message for message in thread if message["kind"] == "pin")
    assert answer["delivery"]["pin"] not in pin["body"]
    customer = shop.api.get(f"/api/v1/store/orders/{answer['token']}/messages").json()["results"]
    assert answer["delivery"]["pin"] in next(m for m in customer if m["kind"] == "pin")["body"]


def test_a_courier_sees_no_order_not_assigned_to_them(shop):
    mine, delivery, _, api = assigned(shop)
    other = delivery_of(shop.checkout(quantity=1))
    offer = delivery_dispatch(delivery_id=other.pk)  # offered to someone else, or nobody
    assert offer is None or offer.courier_id != delivery.courier_id

    listed = api.get("/api/v1/fulfiller/orders").json()["results"]

    assert [order["id"] for order in listed] == [mine["id"]]
    for path in (
        f"/api/v1/fulfiller/deliveries/{other.pk}",
        f"/api/v1/fulfiller/orders/{other.order_id}/messages",
    ):
        assert api.get(path).status_code == 404
    assert api.post(f"/api/v1/fulfiller/deliveries/{other.pk}/pickup").status_code == 404
    assert (
        api.post(f"/api/v1/fulfiller/deliveries/{other.pk}/location", LOCATION).status_code == 404
    )
    assert not DeliveryLocation.objects.filter(delivery=other).exists()


def test_access_to_the_order_ends_some_hours_after_delivery(shop, settings):
    settings.DELIVERY_COURIER_THREAD_HOURS = 2
    answer, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"
    api.post(f"{base}/pickup")
    api.post(f"{base}/complete", {"pin": answer["delivery"]["pin"]})
    thread = f"/api/v1/fulfiller/orders/{answer['id']}/messages"
    assert api.get(thread).status_code == 200

    delivery.refresh_from_db()
    delivery.ended_at = timezone.now() - timedelta(hours=2, minutes=1)
    delivery.save(update_fields=["ended_at"])

    assert api.get(thread).status_code == 404
    assert api.get(base).status_code == 404


def test_positions_are_taken_only_while_on_the_delivery(shop):
    answer, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"
    assert api.post(f"{base}/location", LOCATION).status_code == 202
    api.post(f"{base}/pickup")
    api.post(f"{base}/complete", {"pin": answer["delivery"]["pin"]})

    late = api.post(f"{base}/location", LOCATION)
    share = api.post(
        f"/api/v1/fulfiller/orders/{answer['id']}/messages",
        {"kind": "location", "location": LOCATION},
    )

    assert late.status_code == 409 and late.json()["code"] == "no_active_delivery"
    assert share.status_code == 409 and share.json()["code"] == "no_active_delivery"
    delivery.refresh_from_db()
    # The last position left the delivery when it ended; the track waits for its erasure.
    assert (delivery.courier_latitude, delivery.courier_located_at) == (None, None)
    assert DeliveryLocation.objects.filter(delivery=delivery).count() == 1


def test_the_track_and_location_shares_are_erased_after_the_retention(shop, settings):
    settings.DELIVERY_LOCATION_RETENTION_DAYS = 7
    answer, delivery, _, api = assigned(shop)
    base = f"/api/v1/fulfiller/deliveries/{delivery.pk}"
    api.post(f"{base}/location", LOCATION)
    shared = api.post(
        f"/api/v1/fulfiller/orders/{answer['id']}/messages",
        {"kind": "location", "location": LOCATION, "body": "Around the corner"},
    )
    assert shared.status_code == 201, shared.json()
    api.post(f"{base}/pickup")
    api.post(f"{base}/complete", {"pin": answer["delivery"]["pin"]})
    ended = timezone.now()

    assert delivery_locations_erase(now=ended + timedelta(days=6)) == 0
    assert DeliveryLocation.objects.filter(delivery=delivery).count() == 1

    assert delivery_locations_erase(now=ended + timedelta(days=7, minutes=1)) == 1

    assert DeliveryLocation.objects.filter(delivery=delivery).count() == 0
    message = OrderMessage.objects.get(order_id=int(answer["id"]), kind="location")
    assert message.data == {"erased": True}
    delivery.refresh_from_db()
    assert delivery.locations_erased_at is not None
    assert delivery_locations_erase(now=ended + timedelta(days=8)) == 0  # once
