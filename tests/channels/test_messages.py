"""Order messages between customer, staff and courier; fulfiller tokens; masking per viewer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from orders.messages.masking import EMAIL_MASK, PHONE_MASK
from orders.models import FulfillerAccess, Order, OrderEvent, OrderMessage
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
    "phone": "+33 6 12 34 56 78",
}
CUSTOMER_TEXT = "Ring me on +33 6 12 34 56 78 or ada@example.com, code 4521."
STAFF_TEXT = "Our desk: 0044 20 7946 0958, help@shop.example.org. Order total 39.98."


def place(keys, quantity: int = 1) -> dict:
    response = keys["web"].post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "MUG", "quantity": quantity}],
            "email": "ada@example.com",
            "phone": "+33 6 12 34 56 78",
            "shipping_address": ADDRESS,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def courier(keys, *orders: dict, **extra) -> Api:
    response = keys["admin"].post(
        "/api/v1/admin/fulfillers",
        {"name": "Sam (courier)", "orders": [order["id"] for order in orders], **extra},
    )
    assert response.status_code == 201, response.json()
    token = response.json()["token"]
    assert token.startswith("ft_") and len(token) >= 40
    return Api(token)


def urls(order: dict) -> dict[str, str]:
    return {
        "customer": f"/api/v1/store/orders/{order['token']}/messages",
        "staff": f"/api/v1/admin/orders/{order['id']}/messages",
        "courier": f"/api/v1/fulfiller/orders/{order['id']}/messages",
    }


def bodies(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.json()
    return [(m["author_role"], m["author_name"], m["body"]) for m in response.json()["results"]]


def test_each_participant_sees_the_others_contacts_masked_and_staff_see_everything(keys):
    # Given an order, its courier and a thread with a message from each side
    order = place(keys)
    sam = courier(keys, order)
    url = urls(order)
    assert keys["web"].post(url["customer"], {"body": CUSTOMER_TEXT}).status_code == 201
    assert (
        keys["admin"].post(url["staff"], {"body": STAFF_TEXT, "author_name": "Mia"}).status_code
        == 201
    )
    posted = sam.post(
        url["courier"],
        {
            "body": "I'm outside, call 07911123456.",
            "attachments": ["https://img.example.com/d.jpg"],
        },
    )
    assert posted.status_code == 201
    assert (
        posted.json()["body"] == "I'm outside, call 07911123456."
    )  # the author sees it as written

    # When each of them reads the thread
    customer_view = bodies(keys["web"].get(url["customer"]))
    staff_view = bodies(keys["admin"].get(url["staff"]))
    courier_view = bodies(sam.get(url["courier"]))

    # Then staff see the originals, the others see everybody else's contacts masked
    assert staff_view == [
        ("customer", "Ada", CUSTOMER_TEXT),
        ("staff", "Mia", STAFF_TEXT),
        ("fulfiller", "Sam (courier)", "I'm outside, call 07911123456."),
    ]
    assert customer_view == [
        ("customer", "Ada", CUSTOMER_TEXT),
        ("staff", "Mia", f"Our desk: {PHONE_MASK}, {EMAIL_MASK}. Order total 39.98."),
        ("fulfiller", "Sam (courier)", f"I'm outside, call {PHONE_MASK}."),
    ]
    assert courier_view == [
        ("customer", "Ada", f"Ring me on {PHONE_MASK} or {EMAIL_MASK}, code 4521."),
        ("staff", "Mia", f"Our desk: {PHONE_MASK}, {EMAIL_MASK}. Order total 39.98."),
        ("fulfiller", "Sam (courier)", "I'm outside, call 07911123456."),
    ]
    assert keys["web"].get(url["customer"]).json()["results"][2]["attachments"] == [
        "https://img.example.com/d.jpg"
    ]
    assert OrderMessage.objects.get(author_role="customer").body == CUSTOMER_TEXT


def test_the_author_role_comes_from_the_credential_not_the_body(keys):
    order = place(keys)

    posted = keys["web"].post(
        urls(order)["customer"],
        {"body": "Refund approved", "author_role": "staff", "author_name": "Support team"},
    )

    assert posted.status_code == 201
    assert (posted.json()["author_role"], posted.json()["author_name"]) == ("customer", "Ada")
    assert list(OrderMessage.objects.values_list("author_role", flat=True)) == ["customer"]


def test_new_messages_raise_message_created_in_order_sequence(keys):
    order = place(keys)
    url = urls(order)
    keys["web"].post(url["customer"], {"body": "Hello"})
    keys["admin"].post(url["staff"], {"body": "Hi Ada"})

    events = list(OutboxEvent.objects.filter(aggregate=f"order:{order['id']}").order_by("sequence"))

    assert [(e.type, e.sequence) for e in events] == [
        ("order.created", 1),
        ("message.created", 2),
        ("message.created", 3),
    ]
    assert events[1].data["message"]["body"] == "Hello"
    assert events[1].data["order"] == {"id": order["id"], "number": order["number"]}
    assert events[1].channel_code == "web"


def test_the_thread_pages_with_an_after_cursor(keys):
    order = place(keys)
    url = urls(order)["customer"]
    ids = [keys["web"].post(url, {"body": f"message {n}"}).json()["id"] for n in range(3)]

    first = keys["web"].get(f"{url}?limit=2").json()
    rest = keys["web"].get(first["next"]).json()
    nothing_new = keys["web"].get(f"{url}?after={ids[-1]}").json()

    assert [m["id"] for m in first["results"]] == ids[:2]
    assert [m["id"] for m in rest["results"]] == ids[2:]
    assert rest["next"] is None
    assert nothing_new == {"results": [], "next": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x", "attachments": ["http://img.example.com/a.jpg"]}, "attachments"),
        ({"body": "x", "attachments": [f"https://img.example.com/{n}.jpg" for n in range(6)]},
         "attachments"),
    ],
)  # fmt: skip
def test_invalid_messages_are_refused_and_nothing_is_posted(keys, body, field):
    order = place(keys)
    problem = assert_problem(keys["web"].post(urls(order)["customer"], body), 400, "invalid")
    assert field in problem["errors"]
    assert not OrderMessage.objects.exists()


def test_a_courier_sees_only_assigned_orders_with_contacts_masked(keys):
    mine, other = place(keys), place(keys)
    sam = courier(keys, mine)

    listed = sam.get("/api/v1/fulfiller/orders").json()["results"]

    assert [order["id"] for order in listed] == [mine["id"]]
    assert "email" not in listed[0]
    assert listed[0]["customer_phone"] == "*********78"
    assert listed[0]["shipping_address"] == {**ADDRESS, "phone": "*********78"}
    assert [(line["sku"], line["quantity"]) for line in listed[0]["lines"]] == [("MUG", 1)]
    assert_problem(sam.get(urls(other)["courier"]), 404, "not_found")
    assert_problem(sam.post(urls(other)["courier"], {"body": "hi"}), 404, "not_found")
    status_url = f"/api/v1/fulfiller/orders/{other['id']}/status"
    assert_problem(sam.post(status_url, {"status": "delivered"}), 404, "not_found")
    assert not OrderMessage.objects.exists()


def test_a_courier_status_update_posts_a_system_message_and_a_timeline_row(keys):
    order = place(keys)
    sam = courier(keys, order)

    posted = sam.post(
        f"/api/v1/fulfiller/orders/{order['id']}/status",
        {"status": "out_for_delivery", "note": "Around 3 pm",
         "tracking_url": "https://track.example.com/abc"},
    )  # fmt: skip

    assert posted.status_code == 201, posted.json()
    seen = keys["web"].get(urls(order)["customer"]).json()["results"]
    assert [(m["author_role"], m["author_name"], m["body"], m["attachments"]) for m in seen] == [
        ("system", "Sam (courier)", "Out for delivery. Around 3 pm",
         ["https://track.example.com/abc"]),
    ]  # fmt: skip
    event = OrderEvent.objects.get(type="courier_update")
    assert event.data == {
        "status": "out_for_delivery",
        "note": "Around 3 pm",
        "tracking_url": "https://track.example.com/abc",
        "by": "Sam (courier)",
    }
    assert Order.objects.get(pk=order["id"]).fulfillment_status == "unfulfilled"


def test_expired_revoked_and_unknown_fulfiller_tokens_are_401(keys):
    order = place(keys)
    expired, revoked = courier(keys, order), courier(keys, order)
    FulfillerAccess.objects.filter(pk=FulfillerAccess.objects.order_by("id").first().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoke_id = FulfillerAccess.objects.order_by("id").last().pk
    assert keys["admin"].post(f"/api/v1/admin/fulfillers/{revoke_id}/revoke").status_code == 200

    for client in (expired, revoked, Api("ft_unknown"), Api(keys["web"].raw_key)):
        assert_problem(client.get("/api/v1/fulfiller/orders"), 401, "not_authenticated")
        assert_problem(
            client.post(urls(order)["courier"], {"body": "hi"}), 401, "not_authenticated"
        )
    assert_problem(Api(expired.raw_key).get(urls(order)["customer"]), 401, "not_authenticated")
    assert not OrderMessage.objects.exists()


def test_a_courier_loses_access_48_hours_after_the_order_completes(keys):
    order = place(keys)
    sam = courier(keys, order)
    assert sam.get("/api/v1/fulfiller/orders").status_code == 200

    OrderEvent.objects.create(order_id=order["id"], type=OrderEvent.Type.COMPLETED)
    OrderEvent.objects.filter(type="completed").update(
        created_at=timezone.now() - timedelta(hours=48, minutes=1)
    )

    assert_problem(sam.get("/api/v1/fulfiller/orders"), 401, "not_authenticated")


def test_courier_tokens_are_rate_limited_too(keys, settings, one_rate_window):
    order = place(keys)
    client = courier(keys, order)
    settings.API_RATE_LIMIT = 2
    statuses = [client.get("/api/v1/fulfiller/orders").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert_problem(client.get("/api/v1/fulfiller/orders"), 429, "rate_limited")
