"""Chatbot: the example client's conversation against a live server, and order lookup."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from channels_api.models import ApiKey
from orders.models import Order
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.factories import make_key

LOOKUP = "/api/v1/store/orders/lookup"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chatbot_client.py"
ADDRESS = {
    "name": "Ada",
    "line1": "1 St",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
    "phone": "+33 6 12 34 56 78",
}


def load_example():
    spec = importlib.util.spec_from_file_location("chatbot_client", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_the_example_chatbot_conversation_places_and_finds_an_order(
    live_server, channels, catalog, capsys
):
    # Given a chatbot channel's publishable key
    _, key = make_key(channels["chatbot"], kind=ApiKey.Kind.PUBLISHABLE)

    # When the example client talks to the running app
    exit_code = load_example().main(
        ["--base-url", live_server.url, "--key", key, "--search", "classic tee", "--quantity", "2"]
    )

    # Then it ends with a placed, paid order that the lookup found
    assert_two_tees_ordered_and_found(exit_code, capsys.readouterr().out.splitlines())


def assert_two_tees_ordered_and_found(exit_code: int, transcript: list[str]) -> None:
    """The example conversation for two classic tees: a paid order, found by the lookup."""
    order = Order.objects.get()
    assert exit_code == 0
    assert (order.channel.code, order.status, order.payment_status) == (
        "chatbot", "confirmed", "paid",
    )  # fmt: skip
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE", 2)]
    assert order.email == "ada@example.com"
    assert transcript[1] == "Bot: Yes: Classic Tee (TEE) at 19.99 USD."
    assert transcript[3] == f"Bot: Done! Order #{order.number}, 39.98 USD, paid."
    assert transcript[-1] == f"Bot: Order #{order.number} is confirmed (placed, paid, confirmed)."


def place(keys, email="ada@example.com", phone="", channel="chatbot") -> dict:
    response = keys[channel].post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "MUG", "quantity": 1}],
            "email": email,
            "phone": phone,
            "shipping_address": ADDRESS,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
def test_lookup_by_number_and_email_ignores_case(keys):
    order = place(keys, email="Ada@Example.com")

    found = keys["chatbot"].post(LOOKUP, {"number": order["number"], "email": "ADA@example.COM"})

    assert found.status_code == 200
    assert found.json() == keys["chatbot"].get(f"/api/v1/store/orders/{order['token']}").json()


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["+33 6 12 34 56 78", "33612345678", "+33-6-12-34-56-78"])
def test_lookup_by_number_and_phone_compares_digits(keys, phone):
    order = place(keys, phone="+33 (6) 12 34 56 78")

    found = keys["chatbot"].post(LOOKUP, {"number": f"#{order['number']}", "phone": phone})

    assert found.status_code == 200
    assert found.json()["token"] == order["token"]


@pytest.mark.django_db
def test_lookup_answers_the_same_404_for_any_mismatch(keys):
    order = place(keys)
    other = place(keys, email="bob@example.com")
    web_order = place(keys, channel="web")
    unknown = str(int(other["number"]) + 100)

    answers = [
        keys["chatbot"].post(LOOKUP, body)
        for body in (
            {"number": order["number"], "email": "bob@example.com"},
            {"number": order["number"], "phone": "+33 6 00 00 00 00"},
            {"number": order["number"], "email": "ada@example.com", "phone": "123456789"},
            {"number": unknown, "email": "ada@example.com"},
            {"number": "abc", "email": "ada@example.com"},
            {"number": web_order["number"], "email": "ada@example.com"},
        )
    ]

    problems = [assert_problem(answer, 404, "not_found") for answer in answers]
    assert len({answer.content for answer in answers}) == 1
    assert all("token" not in problem for problem in problems)


@pytest.mark.django_db
def test_lookup_needs_an_email_or_a_phone(keys):
    order = place(keys)
    problem = assert_problem(
        keys["chatbot"].post(LOOKUP, {"number": order["number"]}), 400, "invalid"
    )
    assert problem["errors"] == {"email": ["Send the order's email or phone."]}
