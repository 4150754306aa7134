"""Admin API for stock: levels, stocktakes, adjustments, bulk syncs and the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_api.models import ApiKey
from inventory.models import StockLevel, StockMovement, Warehouse
from inventory.selectors import stock_check
from inventory.services import StockLine, stock_allocate, stock_reserve
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db

STOCK = "/api/v1/admin/stock"
ADJUSTMENTS = "/api/v1/admin/stock/adjustments"
BULK = "/api/v1/admin/stock/bulk"
MOVEMENTS = "/api/v1/admin/stock/movements"


@pytest.fixture
def admin_key(db) -> tuple[ApiKey, Api]:
    api_key, raw = make_key(None, kind=ApiKey.Kind.SECRET)
    return api_key, Api(raw)


@pytest.fixture
def limited_api(web) -> Api:
    """A secret key limited to the `web` channel."""
    return Api(make_key(web, kind=ApiKey.Kind.SECRET)[1])


@pytest.fixture
def other_warehouse(db) -> Warehouse:
    """A warehouse that only serves another channel."""
    return make_warehouse("theirs", channels=[make_channel("other")])


# --- GET /admin/stock -------------------------------------------------------


def test_stock_list_shows_on_hand_allocated_reserved_and_available(admin_api, web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 3)])
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 2)])

    response = admin_api.get(STOCK)

    assert response.status_code == 200
    (row,) = response.json()["results"]
    updated_at = row.pop("updated_at")
    assert row == {
        "sku": "TEE",
        "warehouse": "main",
        "on_hand": 10,
        "allocated": 3,
        "reserved": 2,
        "available": 5,
    }
    assert updated_at.endswith("Z")
    assert response.json()["next"] is None


def test_expired_reservations_do_not_count_in_the_stock_list(admin_api, web, main, tee):
    receive(tee, main, 4)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 4)])
    tee.stock.get().reservations.update(expires_at=timezone.now() - timedelta(seconds=1))

    (row,) = admin_api.get(STOCK).json()["results"]

    assert (row["reserved"], row["available"]) == (0, 4)


def test_stock_list_filters_by_sku_warehouse_and_low(admin_api, web, main, backup, tee, mug):
    receive(tee, main, 10)
    receive(tee, backup, 2)
    receive(mug, main, 4)

    def rows(query: str) -> list[tuple[str, str]]:
        response = admin_api.get(f"{STOCK}{query}")
        assert response.status_code == 200, response.json()
        return [(r["sku"], r["warehouse"]) for r in response.json()["results"]]

    assert rows("?sku=tee") == [("TEE", "main"), ("TEE", "backup")]
    assert rows("?warehouse=main") == [("TEE", "main"), ("MUG", "main")]
    assert rows("?sku=TEE&warehouse=backup") == [("TEE", "backup")]
    assert rows("?low=true") == [("TEE", "backup"), ("MUG", "main")]
    assert rows("?low=false") == [("TEE", "main")]
    assert rows("?sku=nothing") == []


def test_low_counts_reservations_too(admin_api, web, main, tee):
    receive(tee, main, 6)
    assert admin_api.get(f"{STOCK}?low=true").json()["results"] == []

    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 2)])

    assert [r["available"] for r in admin_api.get(f"{STOCK}?low=true").json()["results"]] == [4]


def test_stock_list_costs_the_same_queries_for_5_and_50_rows(admin_api, web, main):
    variants = make_product(
        slug="many", skus={f"SKU-{n:02d}": "1.00" for n in range(50)}, channels=[web]
    ).variants.order_by("id")
    for variant in variants[:5]:
        receive(variant, main, 3)
    admin_api.get(STOCK)  # the first request of a key also records when it was used

    with CaptureQueriesContext(connection) as five:
        assert len(admin_api.get(f"{STOCK}?limit=100").json()["results"]) == 5
    for variant in variants[5:]:
        receive(variant, main, 3)
        stock_reserve(channel=web, holder=f"cart:{variant.pk}", lines=[StockLine(variant, 1)])
    with CaptureQueriesContext(connection) as fifty:
        assert len(admin_api.get(f"{STOCK}?limit=100").json()["results"]) == 50

    assert len(fifty) == len(five)


def test_one_stock_level_by_warehouse_and_sku(admin_api, main, tee, mug):
    receive(tee, main, 3)

    assert admin_api.get(f"{STOCK}/main/TEE").json()["on_hand"] == 3
    assert_problem(admin_api.get(f"{STOCK}/main/MUG"), 404, "not_found")
    assert_problem(admin_api.get(f"{STOCK}/nope/TEE"), 404, "not_found")


def test_channel_limited_key_reads_stock_only_in_its_channels_warehouses(
    limited_api, main, other_warehouse, tee
):
    receive(tee, main, 5)
    receive(tee, other_warehouse, 7)

    rows = limited_api.get(STOCK).json()["results"]

    assert [(r["warehouse"], r["on_hand"]) for r in rows] == [("main", 5)]
    assert limited_api.get(f"{STOCK}?warehouse=theirs").json()["results"] == []
    assert_problem(limited_api.get(f"{STOCK}/theirs/TEE"), 404, "not_found")
    assert limited_api.get(f"{MOVEMENTS}").json()["results"][0]["warehouse"] == "main"
    assert len(limited_api.get(f"{MOVEMENTS}").json()["results"]) == 1


# --- PUT /admin/stock/{warehouse}/{sku} --------------------------------------


def test_stocktake_sets_on_hand_and_records_the_difference(admin_key, main, tee):
    api_key, client = admin_key
    receive(tee, main, 10)

    response = client.put(f"{STOCK}/main/TEE", {"on_hand": 7, "reason": "cycle count"})

    assert response.status_code == 200, response.json()
    assert response.json()["on_hand"] == 7
    assert response.json()["available"] == 7
    movement = StockMovement.objects.first()
    assert (movement.delta, movement.on_hand_after, movement.reason) == (-3, 7, "stocktake")
    assert (movement.note, movement.actor) == ("cycle count", api_key.actor)
    assert movement.actor.startswith("api_key:sk_")


def test_stocktake_of_a_new_stock_row_creates_it(admin_api, main, tee):
    response = admin_api.put(f"{STOCK}/main/TEE", {"on_hand": 12})

    assert response.status_code == 200
    assert response.json()["on_hand"] == 12
    assert list(StockMovement.objects.values_list("delta", "reason")) == [(12, "stocktake")]


def test_stocktake_with_the_same_count_writes_nothing(admin_api, main, tee):
    receive(tee, main, 10)

    response = admin_api.put(f"{STOCK}/main/TEE", {"on_hand": 10})

    assert response.status_code == 200
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize("payload", [{"on_hand": -1}, {"on_hand": "ten"}, {}, {"on_hand": 1.5}])
def test_stocktake_with_bad_count_is_400_and_changes_nothing(admin_api, main, tee, payload):
    receive(tee, main, 10)
    before = inventory_snapshot()

    body = assert_problem(admin_api.put(f"{STOCK}/main/TEE", payload), 400, "invalid")

    assert list(body["errors"]) == ["on_hand"]
    assert inventory_snapshot() == before


def test_stocktake_below_held_stock_is_409_and_changes_nothing(admin_api, web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 6)])
    before = inventory_snapshot()

    body = assert_problem(admin_api.put(f"{STOCK}/main/TEE", {"on_hand": 5}), 409, "stock_conflict")

    assert (body["on_hand"], body["held"]) == (10, 6)
    assert inventory_snapshot() == before


def test_stocktake_of_unknown_sku_or_warehouse_is_404(admin_api, main, tee, other_warehouse):
    before = inventory_snapshot()

    assert_problem(admin_api.put(f"{STOCK}/main/NOPE", {"on_hand": 1}), 404, "not_found")
    assert_problem(admin_api.put(f"{STOCK}/nope/TEE", {"on_hand": 1}), 404, "not_found")

    assert inventory_snapshot() == before


def test_channel_limited_key_may_count_only_its_channels_warehouses(
    limited_api, main, other_warehouse, tee
):
    assert limited_api.put(f"{STOCK}/main/TEE", {"on_hand": 3}).status_code == 200
    before = inventory_snapshot()

    assert_problem(limited_api.put(f"{STOCK}/theirs/TEE", {"on_hand": 3}), 404, "not_found")

    assert inventory_snapshot() == before


def test_sku_with_a_slash_is_addressable(admin_api, web, main):
    make_product(slug="poster", skus={"POSTER/A3": "5.00"}, channels=[web])

    response = admin_api.put(f"{STOCK}/main/POSTER/A3", {"on_hand": 2})

    assert response.status_code == 200
    assert response.json()["sku"] == "POSTER/A3"


# --- POST /admin/stock/adjustments -------------------------------------------


def test_adjustment_writes_a_movement_with_reason_and_actor(admin_key, main, tee):
    api_key, client = admin_key
    receive(tee, main, 10)

    response = client.post(
        ADJUSTMENTS,
        {"sku": "TEE", "warehouse": "main", "delta": -2, "reason": "water damage"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    created_at = body.pop("created_at")
    assert body == {
        "id": str(StockMovement.objects.first().pk),
        "sku": "TEE",
        "warehouse": "main",
        "delta": -2,
        "on_hand_after": 8,
        "reason": "adjustment",
        "note": "water damage",
        "actor": api_key.actor,
        "reference": "",
    }
    assert created_at.endswith("Z")
    assert StockLevel.objects.get().on_hand == 8


def test_adjustment_kind_and_reference_are_kept(admin_api, main, tee):
    response = admin_api.post(
        ADJUSTMENTS,
        {
            "sku": "TEE",
            "warehouse": "main",
            "delta": 24,
            "reason": "supplier delivery",
            "kind": "receipt",
            "reference": "PO-1001",
        },
    )

    assert response.status_code == 201
    movement = StockMovement.objects.get()
    assert (movement.reason, movement.reference, movement.delta) == ("receipt", "PO-1001", 24)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"sku": "NOPE", "warehouse": "main", "delta": 1, "reason": "x"}, ["sku"]),
        ({"sku": "TEE", "warehouse": "nope", "delta": 1, "reason": "x"}, ["warehouse"]),
        ({"sku": "NOPE", "warehouse": "nope", "delta": 1, "reason": "x"}, ["sku", "warehouse"]),
        ({"sku": "TEE", "warehouse": "main", "delta": 0, "reason": "x"}, ["delta"]),
        ({"sku": "TEE", "warehouse": "main", "delta": 1}, ["reason"]),
        ({"sku": "TEE", "warehouse": "main", "delta": 1, "reason": "x", "kind": "gift"}, ["kind"]),
        ({"sku": "TEE", "warehouse": "main", "delta": 2.5, "reason": "x"}, ["delta"]),
        ({"sku": "TEE", "warehouse": "main", "delta": 10**12, "reason": "x"}, ["delta"]),
    ],
)
def test_bad_adjustment_is_400_and_changes_nothing(admin_api, main, tee, payload, fields):
    receive(tee, main, 10)
    before = inventory_snapshot()

    body = assert_problem(admin_api.post(ADJUSTMENTS, payload), 400, "invalid")

    assert sorted(body["errors"]) == fields
    assert inventory_snapshot() == before


def test_adjustment_below_zero_or_held_stock_is_409_and_changes_nothing(admin_api, web, main, tee):
    receive(tee, main, 10)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 4)])
    before = inventory_snapshot()

    for delta in (-7, -11):
        payload = {"sku": "TEE", "warehouse": "main", "delta": delta, "reason": "lost"}
        body = assert_problem(admin_api.post(ADJUSTMENTS, payload), 409, "stock_conflict")
        assert (body["sku"], body["warehouse"], body["held"]) == ("TEE", "main", 4)

    assert inventory_snapshot() == before


def test_adjustment_replayed_with_the_same_idempotency_key_moves_stock_once(admin_api, main, tee):
    payload = {"sku": "TEE", "warehouse": "main", "delta": 5, "reason": "found in back room"}

    first = admin_api.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="adj-1")
    again = admin_api.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="adj-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 5


def test_refused_adjustment_is_replayed_as_refused(admin_api, main, tee):
    payload = {"sku": "TEE", "warehouse": "main", "delta": -1, "reason": "lost"}

    first = admin_api.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="adj-2")
    receive(tee, main, 5)
    again = admin_api.post(ADJUSTMENTS, payload, HTTP_IDEMPOTENCY_KEY="adj-2")

    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert StockLevel.objects.get().on_hand == 5


def test_channel_limited_key_may_adjust_only_its_channels_warehouses(
    limited_api, main, other_warehouse, tee
):
    payload = {"sku": "TEE", "warehouse": "main", "delta": 2, "reason": "found"}
    assert limited_api.post(ADJUSTMENTS, payload).status_code == 201
    before = inventory_snapshot()

    body = assert_problem(
        limited_api.post(ADJUSTMENTS, {**payload, "warehouse": "theirs"}), 400, "invalid"
    )

    assert list(body["errors"]) == ["warehouse"]
    assert inventory_snapshot() == before


# --- POST /admin/stock/bulk ---------------------------------------------------


def test_bulk_sets_and_adjusts_with_per_item_results(admin_key, web, main, backup, tee, mug):
    api_key, client = admin_key
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 8)])
    items = [
        {"sku": "TEE", "warehouse": "main", "on_hand": 12},
        {"sku": "MUG", "warehouse": "backup", "delta": 30, "reason": "ERP receipt"},
        {"sku": "NOPE", "warehouse": "main", "on_hand": 1},
        {"sku": "TEE", "warehouse": "main", "delta": -5, "reason": "damaged"},
        {"sku": "MUG", "warehouse": "main", "on_hand": -3},
        {"sku": "MUG", "warehouse": "main"},
        "not an object",
        {"sku": "TEE", "warehouse": "backup", "on_hand": 4, "reason": "nightly count"},
    ]

    response = client.post(BULK, {"items": items})

    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(8))
    assert [r["status"] for r in results] == [
        "ok",
        "ok",
        "error",
        "error",
        "error",
        "error",
        "error",
        "ok",
    ]
    assert results[0] == {
        "index": 0,
        "sku": "TEE",
        "warehouse": "main",
        "status": "ok",
        "on_hand": 12,
    }
    assert results[1]["on_hand"] == 30
    assert results[2]["code"] == "invalid"
    assert results[2]["errors"] == {"sku": ["Unknown SKU 'NOPE'."]}
    assert results[3]["code"] == "stock_conflict"
    assert results[3]["detail"].startswith("TEE in main: on hand would be 7")
    assert (results[4]["code"], list(results[4]["errors"])) == ("invalid", ["on_hand"])
    assert (results[5]["code"], list(results[5]["errors"])) == ("invalid", ["on_hand"])
    assert (results[6]["code"], results[6]["sku"]) == ("invalid", None)
    assert results[7]["on_hand"] == 4
    levels = {
        (level.variant.sku, level.warehouse.code): level.on_hand
        for level in StockLevel.objects.select_related("variant", "warehouse")
    }
    assert levels == {("TEE", "main"): 12, ("MUG", "backup"): 30, ("TEE", "backup"): 4}
    movements = StockMovement.objects.exclude(actor="test").order_by("delta")
    assert [(m.delta, m.reason, m.note) for m in movements] == [
        (2, "stocktake", ""),
        (4, "stocktake", "nightly count"),
        (30, "adjustment", "ERP receipt"),
    ]
    assert {m.actor for m in movements} == {api_key.actor}
    assert stock_check() == []


def test_bulk_accepts_a_thousand_items(admin_api, main, tee):
    items = [{"sku": f"GONE-{n}", "warehouse": "main", "on_hand": 1} for n in range(999)]
    items.append({"sku": "TEE", "warehouse": "main", "on_hand": 5})

    response = admin_api.post(BULK, {"items": items})

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert {r["code"] for r in results[:999]} == {"invalid"}
    assert results[999] == {
        "index": 999,
        "sku": "TEE",
        "warehouse": "main",
        "status": "ok",
        "on_hand": 5,
    }
    assert StockMovement.objects.get().delta == 5


@pytest.mark.parametrize(
    "payload",
    [
        {"items": [{"sku": "TEE", "warehouse": "main", "on_hand": 1}] * 1001},
        {"items": []},
        {"items": "TEE"},
        {},
    ],
)
def test_bulk_with_no_items_or_over_a_thousand_is_400_and_changes_nothing(
    admin_api, main, tee, payload
):
    before = inventory_snapshot()

    body = assert_problem(admin_api.post(BULK, payload), 400, "invalid")

    assert list(body["errors"]) == ["items"]
    assert inventory_snapshot() == before


def test_bulk_replayed_with_the_same_idempotency_key_applies_once(admin_api, main, tee):
    payload = {"items": [{"sku": "TEE", "warehouse": "main", "delta": 3, "reason": "sync"}]}

    first = admin_api.post(BULK, payload, HTTP_IDEMPOTENCY_KEY="sync-2024-06-01")
    again = admin_api.post(BULK, payload, HTTP_IDEMPOTENCY_KEY="sync-2024-06-01")

    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockLevel.objects.get().on_hand == 3
    assert StockMovement.objects.count() == 1


def test_bulk_by_a_channel_limited_key_refuses_other_warehouses_per_item(
    limited_api, main, other_warehouse, tee
):
    items = [
        {"sku": "TEE", "warehouse": "main", "on_hand": 2},
        {"sku": "TEE", "warehouse": "theirs", "on_hand": 2},
    ]

    results = limited_api.post(BULK, {"items": items}).json()["results"]

    assert [r["status"] for r in results] == ["ok", "error"]
    assert results[1]["errors"] == {"warehouse": ["Unknown warehouse 'theirs'."]}
    assert not StockLevel.objects.filter(warehouse=other_warehouse).exists()


# --- GET /admin/stock/movements -------------------------------------------------


def test_movements_are_newest_first_and_filterable(admin_api, web, main, backup, tee, mug):
    receive(tee, main, 10)
    receive(mug, backup, 4)
    admin_api.post(
        ADJUSTMENTS,
        {"sku": "TEE", "warehouse": "main", "delta": -1, "reason": "x", "reference": "R-1"},
    )
    StockMovement.objects.filter(stock_level__variant=mug).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    yesterday = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def movements(query: str = "") -> list[tuple[str, str, int]]:
        response = admin_api.get(f"{MOVEMENTS}{query}")
        assert response.status_code == 200, response.json()
        return [(m["sku"], m["warehouse"], m["delta"]) for m in response.json()["results"]]

    assert movements() == [("TEE", "main", -1), ("MUG", "backup", 4), ("TEE", "main", 10)]
    assert movements("?sku=mug") == [("MUG", "backup", 4)]
    assert movements("?warehouse=main") == [("TEE", "main", -1), ("TEE", "main", 10)]
    assert movements("?reason=receipt") == [("MUG", "backup", 4), ("TEE", "main", 10)]
    assert movements("?reference=R-1") == [("TEE", "main", -1)]
    assert movements(f"?created_after={yesterday}") == [("TEE", "main", -1), ("TEE", "main", 10)]
    assert movements(f"?created_before={yesterday}") == [("MUG", "backup", 4)]


def test_movement_filters_with_bad_values_are_400(admin_api):
    for query in ("?reason=theft", "?created_after=yesterday"):
        body = assert_problem(admin_api.get(f"{MOVEMENTS}{query}"), 400, "invalid")
        assert len(body["errors"]) == 1


def test_stock_endpoints_refuse_publishable_keys(store_api, main, tee):
    receive(tee, main, 5)
    before = inventory_snapshot()
    adjustment = {"sku": "TEE", "warehouse": "main", "delta": 1, "reason": "x"}

    for path in (STOCK, MOVEMENTS, f"{STOCK}/main/TEE"):
        assert_problem(store_api.get(path), 403, "permission_denied")
    assert_problem(store_api.post(ADJUSTMENTS, adjustment), 403, "permission_denied")
    assert_problem(store_api.post(BULK, {"items": [adjustment]}), 403, "permission_denied")
    assert_problem(store_api.put(f"{STOCK}/main/TEE", {"on_hand": 9}), 403, "permission_denied")

    assert inventory_snapshot() == before
