"""Admin API for warehouses: list, create, read, change, and what a channel-limited key may do."""

from __future__ import annotations

import pytest

from channels_api.models import ApiKey
from inventory.models import Warehouse, WarehouseChannel
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_warehouse
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db

WAREHOUSES = "/api/v1/admin/warehouses"
ADDRESS = {"line1": "1 Depot Road", "city": "Springfield", "postal_code": "12345", "country": "US"}


@pytest.fixture
def limited_api(web) -> Api:
    """A secret key limited to the `web` channel."""
    return Api(make_key(web, kind=ApiKey.Kind.SECRET)[1])


def test_create_warehouse_serving_channels_in_priority_order(admin_api, web, instagram):
    response = admin_api.post(
        WAREHOUSES,
        {
            "code": "east",
            "name": "East DC",
            "address": ADDRESS,
            "channels": ["instagram", "web"],
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "code": "east",
        "name": "East DC",
        "kind": "warehouse",
        "address": ADDRESS,
        "active": True,
        "channels": ["instagram", "web"],
    }
    routes = WarehouseChannel.objects.filter(warehouse__code="east").order_by("priority")
    assert [(r.channel.code, r.priority) for r in routes] == [("instagram", 0), ("web", 1)]


def test_create_a_store_with_defaults(admin_api):
    response = admin_api.post(WAREHOUSES, {"code": "shop-1", "kind": "store"})

    assert response.status_code == 201
    assert response.json() == {
        "code": "shop-1",
        "name": "shop-1",
        "kind": "store",
        "address": {},
        "active": True,
        "channels": [],
    }


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"code": "Bad Code"}, {"code"}),
        ({"code": "ok", "kind": "depot"}, {"kind"}),
        ({"code": "ok", "channels": ["nope"]}, {"channels"}),
        ({"code": "ok", "channels": ["web", "web"]}, {"channels"}),
        ({"code": "ok", "address": {"line1": "x", "country": "usa"}}, {"address.city"}),
        ({"code": "main"}, {"code"}),
    ],
)
def test_bad_warehouse_input_is_400_and_creates_nothing(admin_api, web, payload, fields):
    make_warehouse("main")
    before = inventory_snapshot()

    body = assert_problem(admin_api.post(WAREHOUSES, payload), 400, "invalid")

    assert fields <= set(body["errors"])
    assert inventory_snapshot() == before


def test_list_and_filter_warehouses(admin_api, web, instagram):
    make_warehouse("a-main", channels=[web, instagram])
    make_warehouse("b-store", channels=[instagram], kind="store")
    make_warehouse("c-closed", active=False)

    def codes(query: str = "") -> list[str]:
        response = admin_api.get(f"{WAREHOUSES}{query}")
        assert response.status_code == 200
        return [w["code"] for w in response.json()["results"]]

    assert codes() == ["a-main", "b-store", "c-closed"]
    assert codes("?kind=store") == ["b-store"]
    assert codes("?active=false") == ["c-closed"]
    assert codes("?channel=instagram") == ["a-main", "b-store"]
    assert admin_api.get(f"{WAREHOUSES}?limit=1").json()["next"].endswith("limit=1&offset=1")


def test_get_one_warehouse_and_404_for_unknown(admin_api, web):
    make_warehouse("main", channels=[web], address=ADDRESS)

    assert admin_api.get(f"{WAREHOUSES}/main").json()["channels"] == ["web"]
    assert_problem(admin_api.get(f"{WAREHOUSES}/nope"), 404, "not_found")


def test_patch_changes_fields_and_replaces_channels(admin_api, web, instagram):
    make_warehouse("main", channels=[web])

    response = admin_api.patch(
        f"{WAREHOUSES}/main",
        {"name": "Main DC", "active": False, "channels": ["instagram", "web"]},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Main DC"
    assert response.json()["channels"] == ["instagram", "web"]
    warehouse = Warehouse.objects.get(code="main")
    assert (warehouse.name, warehouse.active, warehouse.kind) == ("Main DC", False, "warehouse")


def test_patch_with_unknown_channel_is_400_and_changes_nothing(admin_api, web):
    make_warehouse("main", channels=[web])
    before = inventory_snapshot()

    body = assert_problem(
        admin_api.patch(f"{WAREHOUSES}/main", {"name": "X", "channels": ["nope"]}), 400, "invalid"
    )

    assert body["errors"] == {"channels": ["Unknown channel 'nope'."]}
    assert inventory_snapshot() == before


def test_create_is_idempotent_with_the_same_key(admin_api, web):
    first = admin_api.post(WAREHOUSES, {"code": "east"}, HTTP_IDEMPOTENCY_KEY="wh-1")
    again = admin_api.post(WAREHOUSES, {"code": "east"}, HTTP_IDEMPOTENCY_KEY="wh-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Warehouse.objects.filter(code="east").count() == 1


def test_channel_limited_key_sees_only_warehouses_serving_its_channel(limited_api, web):
    other = make_channel("other")
    make_warehouse("shared", channels=[other, web])
    make_warehouse("theirs", channels=[other])

    listed = limited_api.get(WAREHOUSES).json()["results"]

    assert [(w["code"], w["channels"]) for w in listed] == [("shared", ["web"])]
    assert limited_api.get(f"{WAREHOUSES}/shared").status_code == 200
    assert_problem(limited_api.get(f"{WAREHOUSES}/theirs"), 404, "not_found")


def test_channel_limited_key_may_not_create_or_change_warehouses(limited_api, web):
    make_warehouse("main", channels=[web])
    before = inventory_snapshot()

    assert_problem(limited_api.post(WAREHOUSES, {"code": "new"}), 403, "permission_denied")
    assert_problem(
        limited_api.patch(f"{WAREHOUSES}/main", {"name": "Mine"}), 403, "permission_denied"
    )

    assert inventory_snapshot() == before


def test_publishable_key_may_not_see_warehouses(store_api):
    assert_problem(store_api.get(WAREHOUSES), 403, "permission_denied")
