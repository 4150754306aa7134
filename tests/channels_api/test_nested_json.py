"""JSON nested deeper than API_MAX_JSON_DEPTH, in any field of any endpoint, is a 400."""

from __future__ import annotations

import pytest
from django.conf import settings

from catalog.models import Product
from channels_api.models import ApiKey, IdempotencyRecord
from inventory.models import StockMovement
from orders.models import Cart, Order
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db

LIMIT = settings.API_MAX_JSON_DEPTH


def arrays(depth: int) -> str:
    """`[[[...]]]`, `depth` levels, as JSON text (a Python value that deep could not be dumped)."""
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


# (audience, path, body with %s where the nested value goes, levels around that place)
ENDPOINTS = [
    ("store", "/api/v1/store/checkout", '{"lines": [{"sku": "TEE", "quantity": %s}]}', 3),
    ("store", "/api/v1/store/carts", '{"lines": %s, "email": "ada@example.com"}', 1),
    ("store", "/api/v1/store/checkout", '{"lines": [{"sku": "TEE", "quantity": 1}], '
     '"shipping_address": {"name": %s}}', 2),
    ("admin", "/api/v1/admin/products", '{"name": "Tee", "slug": "tee", "attributes": %s}', 1),
    ("admin", "/api/v1/admin/stock/bulk", '{"items": [%s]}', 2),
]  # fmt: skip


@pytest.fixture
def clients(web) -> dict[str, Api]:
    return {
        "store": Api(make_key(web)[1]),
        "admin": Api(make_key(None, kind=ApiKey.Kind.SECRET)[1]),
    }


def send(client: Api, path: str, body: str, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.generic("POST", path, body, content_type="application/json", **headers)


def nothing_changed() -> None:
    assert not Order.objects.exists()
    assert not Cart.objects.exists()
    assert not Product.objects.exists()
    assert not StockMovement.objects.exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("depth", [400, 20_000])
@pytest.mark.parametrize("nest", [arrays, objects])
@pytest.mark.parametrize("idempotency_key", [None, "deep-1"])
@pytest.mark.parametrize(("audience", "path", "body", "around"), ENDPOINTS)
def test_deeply_nested_json_is_a_400_before_anything_reads_it(
    clients, audience, path, body, around, idempotency_key, nest, depth
):
    response = send(clients[audience], path, body % nest(depth), idempotency_key)

    problem = assert_problem(response, 400, "parse_error")
    assert f"at most {LIMIT} levels" in problem["detail"]
    nothing_changed()


@pytest.mark.parametrize(("audience", "path", "body", "around"), ENDPOINTS)
def test_nesting_up_to_the_limit_reaches_the_fields_checks(clients, audience, path, body, around):
    at_limit = send(clients[audience], path, body % arrays(LIMIT - around), None)
    over_limit = send(clients[audience], path, body % arrays(LIMIT - around + 1), None)

    # Read, and answered for what it says (a bad quantity, an item that is not an object...).
    assert at_limit.status_code in (200, 400), at_limit.content
    assert at_limit.json().get("code") != "parse_error"
    assert_problem(over_limit, 400, "parse_error")


def test_brackets_inside_strings_do_not_count_as_nesting(admin_api):
    name = '"[{\\"' + "[" * 500 + '"'  # a quote, escaped quotes and brackets in a string
    body = '{"name": %s, "slug": "brackets", "variants": [{"sku": "B-1", "price": "1.00"}]}'

    response = admin_api.generic(
        "POST", "/api/v1/admin/products", body % name, content_type="application/json"
    )

    assert response.status_code == 400  # too long a name: checked, not refused unread
    assert set(response.json()["errors"]) == {"name"}
