"""Warehouse and store codes as merchants type them (`WH-EAST-01`): kept as typed, unique and
found ignoring case, on every path, field and filter that names a warehouse."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Channel
from inventory.codes import WAREHOUSE_CODE_MESSAGE, WAREHOUSE_CODE_TAKEN
from inventory.models import StockLevel, Warehouse
from orders.models import ShippingMethod
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import (
    SHIPPING_ADDRESS,
    make_channel,
    make_key,
    make_product,
    make_warehouse,
    receive,
)

pytestmark = pytest.mark.django_db

WAREHOUSES = "/api/v1/admin/warehouses"
STOCK = "/api/v1/admin/stock"


@pytest.fixture
def east(web: Channel) -> Warehouse:
    return make_warehouse("WH-EAST-01", channels=[web])


@pytest.fixture
def tee(web: Channel, east: Warehouse):
    variant = make_product(slug="tee", skus={"TEE": "19.99"}, channels=[web]).variants.get()
    receive(variant, east, 10)
    return variant


def test_a_code_with_capitals_is_kept_as_typed_and_found_in_any_case(admin_api, web):
    created = admin_api.post(WAREHOUSES, {"code": "WH-East_01", "channels": ["web"]})

    assert created.status_code == 201, created.json()
    assert created.json()["code"] == "WH-East_01"
    assert Warehouse.objects.get().code == "WH-East_01"
    for spelling in ("WH-East_01", "wh-east_01", "WH-EAST_01"):
        found = admin_api.get(f"{WAREHOUSES}/{spelling}")
        assert (found.status_code, found.json()["code"]) == (200, "WH-East_01")
    renamed = admin_api.patch(f"{WAREHOUSES}/wh-east_01", {"name": "East"})
    assert (renamed.status_code, renamed.json()["code"]) == (200, "WH-East_01")


def test_a_code_differing_only_in_case_is_taken(admin_api, east):
    response = admin_api.post(WAREHOUSES, {"code": "wh-east-01"})

    problem = assert_problem(response, 400, "invalid")
    assert problem["errors"] == {"code": [WAREHOUSE_CODE_TAKEN]}
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["WH-EAST-01"]


def test_the_database_refuses_a_second_code_differing_only_in_case(east):
    with pytest.raises(IntegrityError), transaction.atomic():
        Warehouse.objects.create(code="wh-East-01", name="copy")
    assert Warehouse.objects.count() == 1


@pytest.mark.parametrize("code", ["WH EAST", "-east", "wh.east", "ost/1", "é-1", "x" * 51])
def test_a_bad_code_is_400_saying_which_characters_are_allowed(admin_api, code):
    problem = assert_problem(admin_api.post(WAREHOUSES, {"code": code}), 400, "invalid")

    assert WAREHOUSE_CODE_MESSAGE in problem["errors"]["code"]
    assert "letters (either case), digits, '-' and '_'" in WAREHOUSE_CODE_MESSAGE
    assert not Warehouse.objects.exists()


def test_stock_paths_fields_and_filters_find_the_warehouse_in_any_case(admin_api, east, tee):
    counted = admin_api.put(f"{STOCK}/wh-east-01/TEE", {"on_hand": 12})
    adjusted = admin_api.post(
        f"{STOCK}/adjustments",
        {"sku": "TEE", "warehouse": "Wh-East-01", "delta": -2, "reason": "damaged"},
    )
    bulk = admin_api.post(
        f"{STOCK}/bulk", {"items": [{"sku": "TEE", "warehouse": "wh-EAST-01", "delta": 5}]}
    )

    assert (counted.status_code, counted.json()["warehouse"]) == (200, "WH-EAST-01")
    assert (adjusted.status_code, adjusted.json()["warehouse"]) == (201, "WH-EAST-01")
    assert bulk.json()["results"][0]["status"] == "ok", bulk.json()
    assert StockLevel.objects.get(warehouse=east, variant=tee).on_hand == 15
    assert admin_api.get(f"{STOCK}/wh-east-01/TEE").json()["on_hand"] == 15
    listed = admin_api.get(f"{STOCK}?warehouse=wh-east-01").json()["results"]
    assert [(level["warehouse"], level["on_hand"]) for level in listed] == [("WH-EAST-01", 15)]
    movements = admin_api.get(f"{STOCK}/movements?warehouse=WH-east-01").json()["results"]
    assert [m["delta"] for m in movements] == [5, -2, 2, 10]
    assert admin_api.get(f"{STOCK}?warehouse=wh-west-01").json()["results"] == []


def test_fulfillments_and_pickup_methods_name_the_warehouse_in_any_case(
    admin_api, store_api, web, east, tee
):
    order = store_api.post(
        "/api/v1/store/checkout",
        {"lines": [{"sku": "TEE", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS},
    ).json()

    planned = admin_api.post(
        f"/api/v1/admin/orders/{order['id']}/fulfillments", {"warehouse": "wh-east-01"}
    )
    pickup = admin_api.post(
        "/api/v1/admin/shipping-methods",
        {"channel": "web", "code": "collect", "name": "Collect", "kind": "pickup",
         "pickup_warehouse": "wh-east-01"},
    )  # fmt: skip

    assert planned.status_code == 201, planned.json()
    assert [f["warehouse"] for f in planned.json()["results"]] == ["WH-EAST-01"]
    assert pickup.status_code == 201, pickup.json()
    assert ShippingMethod.objects.get(code="collect").pickup_warehouse == east


def test_a_till_names_its_store_in_any_case():
    pos = make_channel("till", kind=Channel.Kind.POS)
    store = make_warehouse("SOHO-1", channels=[pos], kind=Warehouse.Kind.STORE)
    variant = make_product(slug="mug", skus={"MUG": "8.50"}, channels=[pos]).variants.get()
    receive(variant, store, 3)

    response = Api(make_key(pos)[1]).post(
        "/api/v1/store/pos/sales",
        {"lines": [{"sku": "MUG", "quantity": 1}], "payment": {"provider": "manual"},
         "store": "soho-1"},
    )  # fmt: skip

    assert response.status_code == 201, response.json()
    assert response.json()["receipt"]["store"]["code"] == "SOHO-1"
    assert StockLevel.objects.get(warehouse=store).on_hand == 2


@pytest.mark.django_db(transaction=True)
def test_two_spellings_created_at_once_make_one_warehouse_and_no_5xx(live_server):
    from channels_api.models import ApiKey
    from tests.parallel import http_json, run_parallel

    key = make_key(None, kind=ApiKey.Kind.SECRET)[1]
    spellings = ["WH-RACE", "wh-race", "Wh-Race", "wH-rAcE"]

    results = run_parallel(
        4,
        lambda i: http_json("POST", f"{live_server.url}{WAREHOUSES}", key, {"code": spellings[i]}),
    )

    assert sorted(status for status, _, _ in results) == [201, 400, 400, 400], results
    assert all(
        body["errors"] == {"code": [WAREHOUSE_CODE_TAKEN]} for s, body, _ in results if s == 400
    )
    assert Warehouse.objects.count() == 1


MIGRATION_CHECK = """
from django.db import IntegrityError, transaction
from inventory.codes import code_is
from inventory.models import Warehouse
found = Warehouse.objects.filter(code_is("MAIN")).values_list("code", flat=True)
try:
    with transaction.atomic():
        Warehouse.objects.create(code="Main", name="copy")
    refused = False
except IntegrityError:
    refused = True
print(sorted(Warehouse.objects.values_list("code", flat=True)), list(found), refused)
"""


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_warehouses_and_makes_codes_unique_ignoring_case():
    """Run on a database of its own: migrated to the previous schema, given warehouses, then
    migrated forward (the suite itself builds its database from the models)."""
    import os
    import uuid

    from django.db import connection

    from tests.processes import manage_py

    name = f"migration_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
    environment = {**os.environ, "DATABASE_URL": url, "DATABASE_CONN_MAX_AGE": "0"}

    def manage(*arguments: str) -> str:
        done = manage_py(*arguments, env=environment)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    try:
        manage("migrate", "inventory", "0001", "--noinput", "-v", "0")
        manage(
            "shell", "-v", "0", "-c",
            "from inventory.models import Warehouse\n"
            "Warehouse.objects.create(code='main', name='Main')\n"
            "Warehouse.objects.create(code='store-1', name='Store')",
        )  # fmt: skip
        manage("migrate", "--noinput", "-v", "0")
        output = manage("shell", "-v", "0", "-c", MIGRATION_CHECK)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert output.split("\n")[0] == "['main', 'store-1'] ['main'] True"
