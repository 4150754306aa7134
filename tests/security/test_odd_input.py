"""Input the schema fuzzing does not send: odd `Last-Event-ID`s on the live streams, signed
Stripe webhooks whose body is no Stripe event, calendar edges in the sales report, and odd
query and path values on every GET with a secret key, a channel-limited one, a courier's
token and a store key. Each answers a problem+json 4xx (or its normal answer), never a 5xx,
and changes nothing."""

from __future__ import annotations

import re

import pytest

from channels_api.models import ApiKey
from orders.models import Order, PaymentEvent
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.delivery.conftest import assigned, shop  # noqa: F401 (a fixture)
from tests.factories import make_key
from tests.payments.conftest import stripe_on  # noqa: F401 (a fixture)
from tests.payments.stripe_helpers import sign

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/payments/stripe/webhook"


@pytest.mark.parametrize(
    "last_event_id",
    [
        "99999999999999999999-0",  # 20 digits, beyond Redis's 64 bits
        "18446744073709551616-0",  # 2**64
        "1-18446744073709551616",
        "\u0661\u0662-\u0660",  # Arabic-Indic digits: `\d` takes them, Redis does not
        "1-1\n",  # a regular expression's `$` takes a trailing newline
    ],
)
def test_a_stream_refuses_an_event_id_no_stream_sends(shop, last_event_id):  # noqa: F811
    answer, _, _, _ = assigned(shop)
    admin = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    streams = [
        (shop.api, f"/api/v1/store/orders/{answer['token']}/stream"),
        (admin, "/api/v1/admin/deliveries/stream"),
    ]

    for client, path in streams:
        by_query = client.get(path, {"last_event_id": last_event_id})
        body = assert_problem(by_query, 400, "invalid")
        assert list(body["errors"]) == ["Last-Event-ID"]
        if "\n" not in last_event_id:  # a header cannot carry a newline
            by_header = client.get(path, HTTP_LAST_EVENT_ID=last_event_id)
            assert_problem(by_header, 400, "invalid")


def test_a_stream_resumed_from_the_last_id_there_is_has_nothing_new(shop):  # noqa: F811
    answer, _, _, _ = assigned(shop)
    last = f"{2**64 - 1}-{2**64 - 1}"  # valid, and nothing can come after it

    polled = shop.api.get(f"/api/v1/store/orders/{answer['token']}/stream", HTTP_LAST_EVENT_ID=last)

    assert polled.status_code == 200
    assert "event: snapshot" not in polled.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        # Money without its currency, in a refund and in an intent.
        b'{"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": "ch_1",'
        b' "payment_intent": "pi_1", "amount_refunded": 100}}}',
        b'{"id": "evt_2", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1",'
        b' "amount": 100}}}',
        # An amount JSON reads as infinity, and one that is not a number.
        b'{"id": "evt_3", "type": "payment_intent.payment_failed", "data": {"object":'
        b' {"id": "pi_1", "amount": 1e400, "currency": "usd"}}}',
        b'{"id": "evt_4", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1",'
        b' "amount": "lots", "currency": "usd"}}}',
        # Nested past the JSON parser's depth.
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ],
)
def test_a_signed_webhook_that_is_no_stripe_event_is_400_and_changes_nothing(
    stripe_on,  # noqa: F811
    anonymous_api,
    body,
):
    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )  # fmt: skip

    body = assert_problem(response, 400, "invalid_signature")
    assert body["detail"] == "The body is not a Stripe event."
    assert not PaymentEvent.objects.exists()
    assert not Order.objects.exists()


def test_the_sales_report_takes_the_calendars_edges(admin_api):
    first_day = admin_api.get("/api/v1/admin/reports/sales?to=0001-01-01")
    last_day = admin_api.get("/api/v1/admin/reports/sales?from=9999-12-31&to=9999-12-31")

    assert first_day.status_code == 200, first_day.json()
    assert first_day.json()["from"] == "0001-01-01"
    body = assert_problem(last_day, 400, "invalid")
    assert body["errors"] == {"to": ["Use a date before 9999-12-31."]}


ODD_VALUES = [
    "-1", "99999999999999999999999999", "1e309", "NaN", "a\x00b", "\U0001d518", "%00",
    "2026-13-45", "0001-01-01", "9999-12-31", "x" * 3000, "\u0661\u0662", "' OR 1=1 --",
]  # fmt: skip


def test_odd_query_and_path_values_never_answer_a_server_error(shop):  # noqa: F811
    answer, delivery, _, courier_api = assigned(shop)
    admin = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    limited = Api(make_key(shop.channel, kind=ApiKey.Kind.SECRET)[1])
    schema = admin.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    failures, asked = [], 0
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        if template.startswith("/api/v1/admin"):
            clients = [admin, limited]
        elif template.startswith("/api/v1/fulfiller"):
            clients = [courier_api]
        else:
            clients = [shop.api]
        path = template.replace("{token}", answer["token"]).replace("{pk}", str(delivery.pk))
        path = re.sub(r"\{[^}]+\}", "x", path)
        names = [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"]
        for client in clients:
            requests = [(path, {name: value}) for name in names for value in ODD_VALUES]
            if "{" in template:
                requests += [
                    (re.sub(r"\{[^}]+\}", value.replace("%", "%25"), template), {})
                    for value in ODD_VALUES
                ]
            for url, query in requests:
                response = client.get(url, query)
                asked += 1
                if response.status_code >= 500 or (
                    response.status_code >= 400
                    and not response["Content-Type"].startswith("application/problem+json")
                ):
                    failures.append((template, query or url[:80], response.status_code))

    assert failures == []
    assert asked > 1000
