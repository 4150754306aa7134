"""Moving stock between warehouses: both sides of the ledger, only free units, no deadlock."""

from __future__ import annotations

import pytest

from channels_api.models import ApiKey
from inventory.errors import StockConflict
from inventory.models import StockLevel, StockMovement
from inventory.selectors import stock_check
from inventory.services import StockLine, stock_reserve, stock_transfer
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_warehouse, receive
from tests.inventory.helpers import inventory_snapshot, run_in_threads

TRANSFERS = "/api/v1/admin/stock/transfers"


def on_hand(variant, warehouse) -> int:
    return StockLevel.objects.get(variant=variant, warehouse=warehouse).on_hand


@pytest.mark.django_db
def test_a_transfer_is_recorded_on_both_sides_of_the_ledger(main, backup, tee):
    receive(tee, main, 10)

    transfer = stock_transfer(
        variant=tee, source=main, destination=backup, quantity=4, actor="staff:ann", note="refill"
    )

    assert (on_hand(tee, main), on_hand(tee, backup)) == (6, 4)
    lines = StockMovement.objects.filter(reference=transfer.reference).order_by("id")
    assert [(m.stock_level.warehouse.code, m.delta, m.on_hand_after) for m in lines] == [
        ("main", -4, 6),
        ("backup", 4, 4),
    ]
    assert {(m.reason, m.actor, m.note) for m in lines} == {("transfer", "staff:ann", "refill")}
    assert transfer.reference.startswith("transfer:")
    assert stock_check() == []


@pytest.mark.django_db
def test_only_units_nobody_holds_can_move(web, main, backup, tee):
    receive(tee, main, 5)
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])  # from main
    before = inventory_snapshot()

    with pytest.raises(StockConflict) as refused:
        stock_transfer(variant=tee, source=main, destination=backup, quantity=3)

    assert "TEE in main: 2 unit(s) can move (5 on hand, 3 held" in refused.value.detail
    assert inventory_snapshot() == before  # not even an empty row for backup


@pytest.mark.django_db
@pytest.mark.parametrize("quantity,same,field", [(0, False, "quantity"), (1, True, "destination")])
def test_a_transfer_needs_two_warehouses_and_units(main, backup, tee, quantity, same, field):
    receive(tee, main, 5)
    before = inventory_snapshot()

    from backoffice.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        stock_transfer(
            variant=tee, source=main, destination=main if same else backup, quantity=quantity
        )

    assert list(refused.value.errors) == [field]
    assert inventory_snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_opposite_transfers_at_once_neither_deadlock_nor_lose_units(main, backup, tee):
    receive(tee, main, 50)
    receive(tee, backup, 50)

    outcomes = run_in_threads(
        [
            lambda n=n: stock_transfer(
                variant=tee,
                source=main if n % 2 else backup,
                destination=backup if n % 2 else main,
                quantity=1,
            )
            for n in range(20)
        ]
    )

    assert [error for _, error in outcomes if error] == []
    assert on_hand(tee, main) + on_hand(tee, backup) == 100
    assert (on_hand(tee, main), on_hand(tee, backup)) == (50, 50)
    assert StockMovement.objects.filter(reason="transfer").count() == 40
    assert stock_check() == []


@pytest.mark.django_db
def test_transfer_through_the_admin_api(admin_api, main, backup, tee):
    receive(tee, main, 10)

    response = admin_api.post(
        TRANSFERS, {"sku": "TEE", "source": "main", "destination": "backup", "quantity": 3}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["out"]["warehouse"], body["out"]["delta"]) == ("main", -3)
    assert (body["into"]["warehouse"], body["into"]["delta"], body["into"]["on_hand_after"]) == (
        "backup",
        3,
        3,
    )
    assert body["out"]["reference"] == body["into"]["reference"] == body["reference"]


@pytest.mark.django_db
def test_a_channel_limited_key_moves_stock_only_between_its_warehouses(main, tee):
    receive(tee, main, 10)
    other = make_channel("other")
    elsewhere = make_warehouse("elsewhere", channels=[other])
    limited = Api(make_key(other, kind=ApiKey.Kind.SECRET)[1])
    before = inventory_snapshot()

    response = limited.post(
        TRANSFERS, {"sku": "TEE", "source": "main", "destination": "elsewhere", "quantity": 3}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"source": ["Unknown warehouse 'main'."]}
    assert inventory_snapshot() == before
    assert elsewhere.stock.count() == 0
