"""Odd strings in request bodies, and odd staff credentials: never a 5xx.

Every POST, PUT and PATCH of the served schema (store, point of sale, admin and courier
APIs; a new endpoint is covered by being served) gets NUL characters and lone UTF-16
surrogates in its JSON strings and keys. PostgreSQL cannot store a NUL in text, and a lone
surrogate cannot be written as UTF-8 at all: each is a 400 `invalid` naming the field (with
dots for nested ones, as every other field error), and nothing is stored.

Staff credentials, the Django admin's login form and a session cookie (also one sent to the
admin API, which takes only keys), with NUL characters, odd Unicode and huge values: a login
form again or a 401/403, never a 5xx.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from backoffice.outbox.webhook_services import webhook_endpoint_create
from catalog.models import Channel, Product
from channels_api.models import ApiKey, IdempotencyRecord
from orders.models import Cart, Order, PaymentEvent
from orders.services.setup import voucher_create
from pos.models import PosSale
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.delivery.conftest import assigned, shop  # noqa: F401 (a fixture)
from tests.factories import make_channel, make_key
from tests.payments.conftest import stripe_on  # noqa: F401 (a fixture)
from tests.payments.stripe_helpers import sign
from tests.security.test_odd_input import ODD_VALUES, WEBHOOK

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch")
# A NUL, a lone high and a lone low surrogate (JSON's `\ud800` escapes decode to them).
ODD_STRINGS = ["a\x00b", "\ud800", "x\udfffy"]


def _properties(schema: dict, components: dict) -> list[str]:
    """The names a request body's schema has at its top (following one `$ref`)."""
    ref = schema.get("$ref")
    if ref:
        schema = components[ref.rsplit("/", 1)[-1]]
    return list(schema.get("properties", {})) or ["value"]


def _send(client: Api, method: str, path: str, body: object, key: str = "odd-1"):
    """The body as JSON text with every non-ASCII character escaped (a lone surrogate can only
    travel as an escape), with an Idempotency-Key unless told: what a client would send."""
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    text = json.dumps(body)
    return client.generic(method.upper(), path, text, content_type="application/json", **headers)


def _escaped(key: str) -> str:
    """A key as errors name it: its NUL or surrogate written as a JSON escape."""
    return json.dumps(key)[1:-1]


def _bodies(name: str, odd: str) -> list[tuple[object, str]]:
    """Bodies with `odd` in the field `name`, a value nested in it, and a key: with the name
    each error must be under."""
    return [
        ({name: odd}, name),
        ({name: [{"sku": odd}]}, f"{name}.0.sku"),
        ({name: {"line1": [odd]}}, f"{name}.line1.0"),
        ({name: {odd: 1}}, f"{name}.{_escaped(odd)}"),
        ({odd: 1}, _escaped(odd)),
    ]


def test_nul_and_lone_surrogates_in_any_body_are_400_naming_the_field(shop, settings):  # noqa: F811
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    answer, delivery, _, courier_api = assigned(shop)
    voucher = voucher_create(code="ODD", kind="fixed", value="1")
    webhook = webhook_endpoint_create(url="http://127.0.0.1/hook", event_types=["order.created"])
    # What each path's parameters name, so that the body is read (not a 404 before it).
    product = Product.objects.get(slug="tee")
    by_prefix = [
        ("/api/v1/admin/products/", {"id": str(product.pk)}),
        ("/api/v1/admin/orders/", {"id": answer["id"]}),
        ("/api/v1/admin/delivery-zones/", {"code": "mitte"}),
        ("/api/v1/admin/vouchers/", {"code": voucher.code}),
        ("/api/v1/admin/warehouses/", {"code": "store-1"}),
        ("/api/v1/admin/webhooks/", {"id": str(webhook.pk)}),
        ("/api/v1/admin/stock/", {"warehouse_code": "store-1", "sku": "TEE"}),
        ("/api/v1/", {"token": answer["token"], "pk": str(delivery.pk), "id": str(delivery.pk)}),
    ]
    till = make_channel("till-odd", kind=Channel.Kind.POS)
    clients = {
        "admin": Api(make_key(None, kind=ApiKey.Kind.SECRET)[1]),
        "pos": Api(make_key(till)[1]),
        "store": shop.api,
        "courier": courier_api,
    }
    schema = (
        clients["admin"]
        .get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        .json()
    )
    components = schema["components"]["schemas"]
    orders, products = Order.objects.count(), Product.objects.count()
    records = IdempotencyRecord.objects.count()
    carts = Cart.objects.count()
    failures, asked, seen, checked, unread = [], 0, set(), 0, []
    for template, operations in schema["paths"].items():
        if template.startswith("/api/v1/admin"):
            client = clients["admin"]
        elif template.startswith("/api/v1/fulfiller"):
            client = clients["courier"]
        elif template.startswith("/api/v1/store/pos"):
            client = clients["pos"]
        else:
            client = clients["store"]
        known = next(values for prefix, values in by_prefix if template.startswith(prefix))
        path = re.sub(r"\{([^}]+)\}", lambda name, known=known: known.get(name[1], "x"), template)
        for method in BODY_METHODS:
            operation = operations.get(method)
            if operation is None or "requestBody" not in operation:
                continue
            content = operation["requestBody"]["content"].get("application/json")
            if content is None:
                continue
            seen.add(template.split("/")[3])
            attempts = [
                (body, field)
                for name in _properties(content["schema"], components)
                for odd in ODD_STRINGS
                for body, field in _bodies(name, odd)
            ]
            for number, (body, field) in enumerate(attempts):
                response = _send(client, method, path, body)
                asked += 1
                problem = response.json() if response.status_code >= 400 else {}
                if number == 0 and problem.get("code") == "not_found":
                    unread.append((method, template))  # no such object: the body is not read
                    break
                if (
                    response.status_code != 400
                    or response["Content-Type"] != "application/problem+json"
                    or problem.get("code") != "invalid"
                    or list(problem.get("errors", {})) != [field]
                ):
                    failures.append((method, template, field, response.status_code, problem))
            else:
                checked += 1

            # Odd values in its path's parameters and in a query string, with an empty body:
            # a 4xx problem, never a 5xx.
            odd_urls = [f"{path}?{quote(name)}={quote(value)}" for name in ("x", "limit")
                        for value in ODD_VALUES]  # fmt: skip
            if "{" in template:
                odd_urls += [re.sub(r"\{[^}]+\}", quote(value), template) for value in ODD_VALUES]
            for url in odd_urls:
                response = _send(client, method, url, {}, key="")
                asked += 1
                if response.status_code >= 500 or (
                    response.status_code >= 400
                    and response["Content-Type"] != "application/problem+json"
                ):
                    failures.append((method, url[:80], "", response.status_code, {}))

    assert failures == []
    assert seen >= {"admin", "store", "fulfiller"}
    assert checked > 4 * len(unread), unread
    assert asked > 500
    assert (Order.objects.count(), Product.objects.count(), Cart.objects.count()) == (
        orders,
        products,
        carts,
    )
    assert IdempotencyRecord.objects.count() == records
    assert not PosSale.objects.exists()


@pytest.mark.parametrize("odd", ["\\u0000", "\\ud800"])
def test_a_signed_stripe_webhook_with_odd_strings_is_refused_and_records_nothing(
    stripe_on,  # noqa: F811
    anonymous_api,
    odd,
):
    body = (
        f'{{"id": "evt_{odd}", "type": "payment_intent.succeeded", "data": {{"object":'
        f' {{"id": "pi_{odd}", "amount": 100, "currency": "usd"}}}}}}'
    ).encode()

    response = anonymous_api.post(
        WEBHOOK, body, format=None, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )  # fmt: skip

    body = assert_problem(response, 400, "invalid_signature")
    assert body["detail"] == "The body is not a Stripe event."
    assert not PaymentEvent.objects.exists()


def test_a_pos_sale_with_odd_strings_is_refused_by_name_and_records_nothing(web):
    till = make_channel("till-odd", kind=Channel.Kind.POS)
    pos = Api(make_key(till)[1])
    line = {"sku": "TEE", "quantity": 1}
    for field, body in [
        ("client_id", {"lines": [line], "payment": {"provider": "manual"}, "client_id": "t\x00"}),
        ("payment.reference", {"lines": [line], "payment": {"provider": "manual",
                                                           "reference": "\udc00"}}),
        ("sales.0.client_id", {"sales": [{"lines": [line], "payment": {"provider": "manual"},
                                          "client_id": "\ud83d"}]}),
    ]:  # fmt: skip
        path = "/api/v1/store/pos/sales" + ("/bulk" if "sales" in body else "")
        body_ = assert_problem(_send(pos, "post", path, body), 400, "invalid")
        assert list(body_["errors"]) == [field]
    assert not PosSale.objects.exists()
    assert not Order.objects.exists()


LOGIN = "/admin/login/?next=/admin/"
# As a form sends them, percent-encoded: NULs, bytes that are no UTF-8 (a lone surrogate's
# among them), odd Unicode, a SQL quote, a blank, and a value of 200,000 characters.
ODD_CREDENTIALS = [
    "a%00b", "%00", "%ED%A0%80", "%FF%FE", quote("\U0001d518\u202e"), quote("' OR 1=1 --"),
    "+", "x" * 200_000,
]  # fmt: skip


@pytest.fixture
def staff_member(db):
    return get_user_model().objects.create_superuser("alice", "alice@example.com", "right-horse-9")


@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
def test_odd_staff_logins_answer_the_form_again_never_a_server_error(client, staff_member):
    for odd in ODD_CREDENTIALS:
        for body in [
            f"username={odd}&password=right-horse-9",
            f"username=alice&password={odd}",
            f"username={odd}&password={odd}",
            f"username={odd}&username={odd}&password={odd}",
        ]:
            response = client.post(
                LOGIN,
                body,
                content_type="application/x-www-form-urlencoded",
                REMOTE_ADDR="10.0.0.1",
            )
            assert response.status_code == 200, (body[:60], response.status_code)
            assert b'name="password"' in response.content
        cache.clear()  # the lockout counters: each value gets its own five attempts
    logged_in = client.post(LOGIN, {"username": "alice", "password": "right-horse-9"})
    assert logged_in.status_code == 302


@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
def test_a_username_no_cache_key_could_hold_is_locked_out_like_any_other(client, settings):
    # A space or a control character: the lockout's counter still counts
    # (a key no cache backend takes would fail open, the counter unavailable).
    for username in ["bob smith", "tab\tuser"]:
        get_user_model().objects.create_user(username, password="right-horse-9", is_staff=True)
        for attempt in range(settings.LOGIN_FAILURE_LIMIT):
            wrong = {"username": username, "password": f"wrong-{attempt}"}
            client.post(LOGIN, wrong, REMOTE_ADDR=f"10.0.1.{attempt}")
        right = client.post(
            LOGIN, {"username": username, "password": "right-horse-9"}, REMOTE_ADDR="10.0.2.1"
        )
        assert right.status_code == 200, username[:20]  # locked: the form again
        assert b'name="password"' in right.content


@pytest.mark.parametrize(
    "cookie",
    ['"\\000abcdefghijkl"', "a" * 8 + "\x00", "\U0001d518" * 10, "x" * 8000, '"\\377\\376"', ""],
)
def test_odd_session_cookies_on_admin_pages_and_the_admin_api_are_never_a_server_error(
    client, staff_member, cookie
):
    key = make_key(None, kind=ApiKey.Kind.SECRET)[1]
    cookie = cookie.encode().decode("latin-1")  # as a WSGI server hands the header's bytes
    for header in [f"sessionid={cookie}", f"sessionid={cookie}; csrftoken={cookie}"]:
        page = client.get("/admin/", HTTP_COOKIE=header)
        assert page.status_code == 302  # to the login page
        login_page = client.get(LOGIN, HTTP_COOKIE=header)
        assert login_page.status_code == 200
        without_key = client.get("/api/v1/admin/orders", HTTP_COOKIE=header)
        assert_problem(without_key, 401, "not_authenticated")
        with_key = client.get(
            "/api/v1/admin/orders", HTTP_COOKIE=header, HTTP_AUTHORIZATION=f"Bearer {key}"
        )
        assert with_key.status_code == 200


def test_a_staff_session_cookie_is_no_credential_for_the_admin_api(client, staff_member):
    client.force_login(staff_member)

    assert client.get("/admin/").status_code == 200
    answer = client.get("/api/v1/admin/orders")
    assert_problem(answer, 401, "not_authenticated")
    posted = client.post(
        "/api/v1/admin/products",
        json.dumps({"name": "Tee", "slug": "tee"}),
        content_type="application/json",
    )
    assert_problem(posted, 401, "not_authenticated")
    assert not Product.objects.exists()
