"""SQL queries per operation, counted in-process with Django's test client on the bench database.

The server runs with DEBUG off and logs no SQL, so each operation is run once here,
against the same PostgreSQL database and data, inside `CaptureQueriesContext`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.load import ADDRESS, NEARBY, PAYMENT

API = "/api/v1"


class UnexpectedAnswer(RuntimeError):
    """An operation measured here did not answer as it should: the numbers would mean nothing."""


def _measure(
    statements: dict[str, list[str]],
    name: str,
    client: Client,
    method: str,
    path: str,
    expect: int,
    body: Any = None,
) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())} if method == "post" else {}
    call = getattr(client, method)
    with CaptureQueriesContext(connection) as queries:
        if body is None:
            response = call(path, **headers)
        else:
            response = call(path, body, content_type="application/json", **headers)
    if response.status_code != expect:
        raise UnexpectedAnswer(f"{name}: {response.status_code} {response.content[:300]!r}")
    statements[name] = [query["sql"] for query in queries.captured_queries]
    return response.json()


def count_queries(
    *, keys: dict[str, str], skus: list[str], slugs: list[str], slots: list[str]
) -> dict:
    """Queries of each operation the scenarios run; the SQL is returned too, for inspection."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys['web']}")
    # The first request of a key stamps `last_used_at` (once a minute): not what is measured.
    client.get(f"{API}/store/products?limit=1")
    statements: dict[str, list[str]] = {}
    _measure(statements, "readyz", client, "get", "/readyz", 200)
    note = {"name": "note", "quantity": 1}
    _measure(statements, "baseline", Client(), "post", "/bench/baseline", 201, note)
    for limit in (5, 20, 100):
        _measure(statements, f"product_list_{limit}", client, "get", _list(limit), 200)
    _measure(statements, "product_detail", client, "get", f"{API}/store/products/{slugs[0]}", 200)
    warm: dict[str, list[str]] = {}  # the shipping method once into the process's cache
    for name, count in (("warm", 1), ("checkout_1_line", 1), ("checkout_20_line", 20)):
        body = {
            "lines": [{"sku": sku, "quantity": 1} for sku in skus[-count:]],
            "email": "bench@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": PAYMENT,
        }
        into = warm if name == "warm" else statements
        _measure(into, name, client, "post", f"{API}/store/checkout", 201, body)
    # The first on-demand checkout loads the `now` method and the channel's zones into the
    # process's caches: warm them, as for the flat rate above.
    deliveries = (
        ("warm", None),
        ("checkout_delivery", None),
        ("checkout_delivery_slot", slots[0]),
    )
    for name, slot in deliveries:
        body = {
            "lines": [{"sku": skus[-1], "quantity": 1}],
            "email": "bench@example.com",
            "shipping_address": NEARBY,
            "shipping_method": "now",
            "payment": PAYMENT,
            **({"delivery_slot": slot} if slot else {}),
        }
        into = warm if name == "warm" else statements
        _measure(into, name, client, "post", f"{API}/store/checkout", 201, body)
    cart = _measure(
        statements,
        "cart_create",
        client,
        "post",
        f"{API}/store/carts",
        201,
        {"lines": [{"sku": skus[-1], "quantity": 1}], "email": "bench@example.com"},
    )
    path = f"{API}/store/carts/{cart['id']}"
    line = {"sku": skus[-2], "quantity": 1}
    _measure(statements, "cart_add_line", client, "post", f"{path}/lines", 201, line)
    update = {"shipping_address": ADDRESS, "shipping_method": "standard"}
    _measure(statements, "cart_update", client, "patch", path, 200, update)
    complete = {"payment": PAYMENT}
    _measure(statements, "cart_complete", client, "post", f"{path}/complete", 201, complete)
    return {
        "counts": {name: len(sql) for name, sql in statements.items()},
        "statements": statements,
    }


def _list(limit: int) -> str:
    return f"{API}/store/products?limit={limit}"
