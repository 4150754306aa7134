"""Courier POSTs honour `Idempotency-Key` like every other POST, scoped to the courier's token."""

from __future__ import annotations

import pytest

from channels_api.models import IdempotencyRecord
from orders.models import FulfillerAccess, OrderEvent, OrderMessage
from tests.channels.test_messages import courier, place
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.parallel import rows_locked

pytestmark = pytest.mark.django_db


def messages_url(order: dict) -> str:
    return f"/api/v1/fulfiller/orders/{order['id']}/messages"


def status_url(order: dict) -> str:
    return f"/api/v1/fulfiller/orders/{order['id']}/status"


def test_a_repeated_courier_message_is_posted_once_and_replayed(keys):
    order = place(keys)
    sam = courier(keys, order)

    first = sam.post(messages_url(order), {"body": "At the door"}, HTTP_IDEMPOTENCY_KEY="m-1")
    again = sam.post(messages_url(order), {"body": "At the door"}, HTTP_IDEMPOTENCY_KEY="m-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert OrderMessage.objects.filter(body="At the door").count() == 1


def test_a_repeated_status_update_is_recorded_once(keys):
    order = place(keys)
    sam = courier(keys, order)
    update = {"status": "out_for_delivery", "note": "Around 3 pm"}

    first = sam.post(status_url(order), update, HTTP_IDEMPOTENCY_KEY="s-1")
    again = sam.post(status_url(order), update, HTTP_IDEMPOTENCY_KEY="s-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert OrderEvent.objects.filter(type="courier_update").count() == 1
    assert OrderMessage.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_posts_nothing(keys):
    order = place(keys)
    sam = courier(keys, order)
    sam.post(messages_url(order), {"body": "At the door"}, HTTP_IDEMPOTENCY_KEY="m-1")

    response = sam.post(messages_url(order), {"body": "Gone"}, HTTP_IDEMPOTENCY_KEY="m-1")

    assert_problem(response, 422, "idempotency_key_reused")
    assert list(OrderMessage.objects.values_list("body", flat=True)) == ["At the door"]


def test_keys_are_scoped_to_each_courier_token(keys):
    order = place(keys)
    sam, kim = courier(keys, order), courier(keys, order)

    for client in (sam, kim):
        response = client.post(messages_url(order), {"body": "On my way"}, HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201 and "Idempotent-Replayed" not in response
    staff = keys["admin"].post(
        f"/api/v1/admin/orders/{order['id']}/messages",
        {"body": "On my way"},
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert staff.status_code == 201 and "Idempotent-Replayed" not in staff
    assert OrderMessage.objects.filter(body="On my way").count() == 3
    scopes = IdempotencyRecord.objects.filter(key="k").values_list(
        "api_key_id", "fulfiller_access_id"
    )
    couriers = set(FulfillerAccess.objects.values_list("pk", flat=True))
    assert sorted(s for _, s in scopes if s) == sorted(couriers)
    assert len([k for k, _ in scopes if k]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_key_while_the_first_request_runs_is_409(keys):
    order = place(keys)
    sam = courier(keys, order)
    access = FulfillerAccess.objects.get()
    running = IdempotencyRecord.objects.create(
        fulfiller_access=access, key="busy", request_fingerprint="first request"
    )
    with rows_locked(IdempotencyRecord.objects.filter(pk=running.pk)):  # the first request
        response = sam.post(messages_url(order), {"body": "Hi"}, HTTP_IDEMPOTENCY_KEY="busy")

    assert_problem(response, 409, "idempotency_key_in_use")
    assert not OrderMessage.objects.exists()
