"""Live tracking through a real stream: uvicorn serves the SSE, the API posts through
Redis, the customer sees the courier move; streams resume with Last-Event-ID."""

from __future__ import annotations

import json
import time

import pytest

from channels_api.models import ApiKey
from tests.delivery.conftest import assigned
from tests.delivery.streams import open_stream
from tests.factories import make_key
from tests.openapi import listed_codes, operation_at

pytestmark = pytest.mark.django_db(transaction=True)


def move(api, delivery, latitude: float) -> None:
    answer = api.post(
        f"/api/v1/fulfiller/deliveries/{delivery.pk}/location",
        {"latitude": latitude, "longitude": 13.405},
    )
    assert answer.status_code == 202, answer.json()


def test_the_customer_sees_the_courier_move_and_the_delivery_change(shop, asgi_server):
    answer, delivery, _, api = assigned(shop)
    stream = open_stream(
        asgi_server.port, f"/api/v1/store/orders/{answer['token']}/stream", shop.api.raw_key
    )
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    snapshot = stream.next()
    assert snapshot.type == "snapshot" and snapshot.id is None
    assert snapshot.data["delivery"]["status"] == "assigned"
    assert snapshot.data["delivery"]["courier"]["name"] == "Sam"
    assert snapshot.data["order"]["number"] == answer["number"]

    sent = time.monotonic()
    move(api, delivery, 52.522)
    location = stream.next(timeout=5)

    assert location.type == "location"
    assert (location.data["latitude"], location.data["longitude"]) == (52.522, 13.405)
    assert location.received_at - sent < 2
    assert "pin" not in json.dumps(location.data)
    api.post(f"/api/v1/fulfiller/deliveries/{delivery.pk}/pickup")
    picked = stream.next()
    assert picked.type == "delivery" and picked.data["status"] == "picked_up"
    assert picked.data["estimated_arrival"]["earliest"] < picked.data["estimated_arrival"]["latest"]
    stream.close()


def test_a_stream_resumes_after_the_last_event_it_received(shop, asgi_server):
    answer, delivery, _, api = assigned(shop)
    path = f"/api/v1/store/orders/{answer['token']}/stream"
    first = open_stream(asgi_server.port, path, shop.api.raw_key)
    first.next()  # the snapshot
    move(api, delivery, 52.521)
    seen = first.next()
    first.close()

    move(api, delivery, 52.522)  # while the customer was away
    move(api, delivery, 52.523)
    again = open_stream(asgi_server.port, path, shop.api.raw_key, last_event_id=seen.id)

    missed = [again.next(), again.next()]
    assert [event.data["latitude"] for event in missed] == [52.522, 52.523]
    assert all(event.id > seen.id for event in missed)
    move(api, delivery, 52.524)
    assert again.next().data["latitude"] == 52.524
    again.close()


def test_the_staff_stream_sees_every_delivery_of_its_channel(shop, asgi_server):
    staff_key = make_key(None, kind=ApiKey.Kind.SECRET)[1]
    stream = open_stream(asgi_server.port, "/api/v1/admin/deliveries/stream", staff_key)
    snapshot = stream.next()
    assert snapshot.type == "snapshot" and snapshot.data == {"deliveries": []}

    answer, delivery, _, api = assigned(shop)
    events = [stream.next() for _ in range(2)]  # offered, then assigned
    assert [event.data["status"] for event in events] == ["offered", "assigned"]
    assert events[-1].data["order"]["number"] == answer["number"]
    move(api, delivery, 52.522)
    assert stream.next().type == "location"
    stream.close()


def test_stream_refusals_are_the_apis_problems(shop, asgi_server):
    bad_token = open_stream(
        asgi_server.port, "/api/v1/store/orders/00000000-0000-4000-8000-000000000000/stream",
        shop.api.raw_key,
    )  # fmt: skip
    no_key = open_stream(asgi_server.port, "/api/v1/admin/deliveries/stream", "")
    store_key_on_admin = open_stream(
        asgi_server.port, "/api/v1/admin/deliveries/stream", shop.api.raw_key
    )

    for client, status, code in [
        (bad_token, 404, "not_found"),
        (no_key, 401, "not_authenticated"),
        (store_key_on_admin, 403, "permission_denied"),
    ]:
        assert client.status == status
        assert client.headers["content-type"] == "application/problem+json"
        assert json.loads(client.body)["code"] == code
    # ... and the schema lists them (the ASGI answers are not seen by the suite's guard).
    _template, operation = operation_at("GET", "/api/v1/store/orders/x/stream")
    assert "not_found" in listed_codes(operation, 404)
    _, staff = operation_at("GET", "/api/v1/admin/deliveries/stream")
    assert "permission_denied" in listed_codes(staff, 403)


def test_served_without_the_asgi_server_a_stream_answers_what_is_new_and_closes(shop):
    answer, delivery, _, api = assigned(shop)
    path = f"/api/v1/store/orders/{answer['token']}/stream"

    first = shop.api.get(path, HTTP_ACCEPT="text/event-stream")

    assert first.status_code == 200
    assert first["Content-Type"] == "text/event-stream"
    text = first.content.decode()
    assert text.startswith("retry: 3000\n\n")
    assert "event: snapshot" in text and '"status": "assigned"' in text
    resume_at = text.rsplit("id: ", 1)[1].split("\n", 1)[0]  # the newest event, again
    move(api, delivery, 52.522)

    polled = shop.api.get(path, HTTP_ACCEPT="text/event-stream", HTTP_LAST_EVENT_ID=resume_at)

    events = polled.content.decode().split("\n\n")
    assert "event: snapshot" not in polled.content.decode()
    assert [e.split("\n")[1] for e in events if e.startswith("id: ")] == ["event: location"]
    assert '"latitude": 52.522' in polled.content.decode()


def test_open_streams_share_one_pub_sub_connection_per_process(shop, asgi_server, settings):
    import redis

    answer, _, _, _ = assigned(shop)
    path = f"/api/v1/store/orders/{answer['token']}/stream"
    streams = [open_stream(asgi_server.port, path, shop.api.raw_key) for _ in range(5)]
    for stream in streams:
        stream.next()  # each has its snapshot: subscribed

    subscribers = redis.Redis.from_url(settings.STREAM_REDIS_URL).client_list(_type="pubsub")

    assert len(subscribers) == 1
    for stream in streams:
        stream.close()
