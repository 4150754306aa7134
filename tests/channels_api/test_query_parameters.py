"""Query parameters: a value an endpoint does not understand, or a parameter it does not
read, answers 400 `invalid` naming it, on every list and filter endpoint."""

from __future__ import annotations

import re

import pytest
from django.urls import resolve

from channels_api.query import accepted_query_parameters
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.factories import make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(web):
    """TEE in `main`: 3 on hand, below its low-stock threshold (5)."""
    tee = make_product(slug="tee", skus={"TEE": "19.99"}, channels=[web]).variants.get()
    receive(tee, make_warehouse("main", channels=[web]), 3)
    return tee


def refused(response, parameter: str) -> list[str]:
    body = assert_problem(response, 400, "invalid")
    assert list(body["errors"]) == [parameter], body
    return body["errors"][parameter]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/admin/stock?low=yes", "low"),  # a boolean filter
        ("/api/v1/admin/stock?low=TRUE", "low"),
        ("/api/v1/admin/warehouses?active=maybe", "active"),
        ("/api/v1/admin/warehouses?kind=depot", "kind"),  # a choice filter
        ("/api/v1/admin/orders?status=lost", "status"),
        ("/api/v1/admin/orders?created_after=yesterday", "created_after"),  # a date filter
        ("/api/v1/admin/stock/movements?created_before=2026-02-30T00:00:00Z", "created_before"),
        ("/api/v1/admin/events?created_after=soon", "created_after"),
        ("/api/v1/admin/orders?created_after=9999-12-31T23:59:59-14:00", "created_after"),
        ("/api/v1/admin/orders?limit=abc", "limit"),
        ("/api/v1/admin/orders?limit=0", "limit"),
        ("/api/v1/admin/orders?limit=-5", "limit"),
        ("/api/v1/admin/orders?offset=-1", "offset"),
        ("/api/v1/admin/orders?offset=1.5", "offset"),
        (f"/api/v1/admin/orders?offset={2**63}", "offset"),
        ("/api/v1/admin/orders?offset=" + "9" * 5000, "offset"),
        ("/api/v1/admin/orders?ordering=-total", "ordering"),  # no endpoint orders on demand
        ("/api/v1/admin/stock?colour=red", "colour"),  # not a parameter of this endpoint
        ("/api/v1/admin/stock?format=csv", "format"),  # not served here
        ("/api/v1/admin/orders?format=xml", "format"),
        ("/api/v1/admin/stock?sku=TEE&sku=MUG", "sku"),  # one value, given twice
        ("/api/v1/admin/orders/1?limit=5", "limit"),  # a detail view has no pages
        ("/api/v1/admin/reports/sales?group=channel", "group"),
        ("/api/v1/admin/reports/sales?group_by=week", "group_by"),
    ],
)
def test_admin_lists_refuse_what_they_do_not_understand(admin_api, stock, path, parameter):
    refused(admin_api.get(path), parameter)


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/store/products?limit=many", "limit"),
        ("/api/v1/store/products?offset=9223372036854775808", "offset"),
        ("/api/v1/store/products?sort=price", "sort"),
        ("/api/v1/store/products?format=csv", "format"),
        ("/api/v1/store/products/tee?search=tee", "search"),
        ("/api/v1/store/shipping-methods?channel=pos", "channel"),
    ],
)
def test_store_lists_refuse_what_they_do_not_understand(store_api, stock, path, parameter):
    refused(store_api.get(path), parameter)


def test_the_refusal_says_what_the_endpoint_takes(admin_api, stock):
    [message] = refused(admin_api.get("/api/v1/admin/stock?colour=red"), "colour")
    assert message == (
        "Not a parameter of this endpoint (it takes: limit, low, offset, sku, warehouse)."
    )
    [message] = refused(admin_api.get("/api/v1/admin/stock?format=csv"), "format")
    assert message == "Not served here; use json."


def test_values_that_are_understood_still_filter_and_page(admin_api, store_api, stock):
    low = admin_api.get("/api/v1/admin/stock?low=true&format=json")
    not_low = admin_api.get("/api/v1/admin/stock?low=false")
    capped = admin_api.get("/api/v1/admin/orders?limit=1000&offset=0")  # capped, not refused
    empty = admin_api.get("/api/v1/admin/stock?low=&sku=")  # empty: no filter
    statuses = admin_api.get("/api/v1/admin/orders?status=pending&status=confirmed")
    # An offset Python reads but PostgreSQL does not (beyond 15:59): the time is sent in UTC.
    far_offset = admin_api.get(
        "/api/v1/admin/stock/movements?created_after=2598-10-08T09:08:08-23:21"
    )

    assert [level["sku"] for level in low.json()["results"]] == ["TEE"]
    assert not_low.json()["results"] == []
    assert capped.status_code == 200 and capped.json() == {"results": [], "next": None}
    assert [level["sku"] for level in empty.json()["results"]] == ["TEE"]
    assert statuses.status_code == 200
    assert far_offset.status_code == 200 and far_offset.json()["results"] == []
    assert store_api.get("/api/v1/store/products?limit=1&offset=0&search=tee").status_code == 200


def test_message_threads_read_after_and_limit_only(store_api, admin_api, stock):
    address = {"name": "Ada", "line1": "1 Main St", "city": "Town", "postal_code": "1"}
    order = store_api.post(
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "TEE", "quantity": 1}],
            "shipping_address": {**address, "country": "US"},
        },
    ).json()
    path = f"/api/v1/store/orders/{order['token']}/messages"

    assert store_api.get(f"{path}?after=1&limit=5").status_code == 200
    refused(store_api.get(f"{path}?limit=zero"), "limit")
    refused(store_api.get(f"{path}?offset=5"), "offset")
    refused(admin_api.get(f"/api/v1/admin/orders/{order['id']}/messages?page=2"), "page")


def test_a_request_without_a_key_gets_its_401_first(anonymous_api):
    assert_problem(anonymous_api.get("/api/v1/admin/stock?colour=red"), 401, "not_authenticated")


def test_every_endpoint_accepts_exactly_the_query_parameters_its_schema_documents(
    anonymous_api,
):
    schema = anonymous_api.get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    checked = 0
    for path, operations in schema["paths"].items():
        view_class = resolve(re.sub(r"\{[^}]+\}", "1", path)).func.cls
        for method, operation in operations.items():
            query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
            accepted = accepted_query_parameters(view_class(), method.upper())
            assert accepted - {"format"} == set(query) - {"format"}, f"{method.upper()} {path}"
            # `format` is taken everywhere; it is documented where there is a choice (CSV).
            formats = sorted({renderer.format for renderer in view_class.renderer_classes})
            if len(formats) > 1:
                assert query["format"]["schema"]["enum"] == formats, f"{method.upper()} {path}"
            else:
                assert "format" not in query, f"{method.upper()} {path}"
            checked += 1
    assert checked > 60
