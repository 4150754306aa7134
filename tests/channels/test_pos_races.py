"""The same offline POS sale sent live and in a bulk upload at once: sold once, never a 5xx.

Real HTTP requests on their own PostgreSQL connections, released together, many times.
"""

from __future__ import annotations

import pytest

from inventory.models import StockLevel
from inventory.selectors import stock_check
from orders.models import Order
from pos.models import PosSale
from tests.factories import make_key, receive
from tests.parallel import http_json, run_parallel

pytestmark = pytest.mark.django_db(transaction=True)

CASH = {"provider": "manual", "method": "cash"}
ROUNDS = 20


def _soho(catalog, sku: str) -> int:
    return StockLevel.objects.get(warehouse=catalog["soho"], variant=catalog[sku]).on_hand


def test_a_sale_uploaded_live_and_in_bulk_at_once_is_sold_once_and_both_answer_2xx(
    live_server, channels, catalog
):
    # Given a till whose store has plenty of tees and mugs
    receive(catalog["tee"], catalog["soho"], 95)
    receive(catalog["mug"], catalog["soho"], 97)
    _, key = make_key(channels["pos"])
    live_url = f"{live_server.url}/api/v1/store/pos/sales"
    bulk_url = f"{live_server.url}/api/v1/store/pos/sales/bulk"

    for round_ in range(ROUNDS):
        sale = {
            "client_id": f"till-1-{round_:04d}",
            "lines": [{"sku": "MUG", "quantity": 1}, {"sku": "TEE", "quantity": 1}],
            "payment": CASH,
        }
        # Half the uploads carry another sale first (of the mug only) and an
        # Idempotency-Key, so the whole batch is one transaction holding its locks.
        earlier = {
            "client_id": f"till-1-{round_:04d}-a",
            "lines": [{"sku": "MUG", "quantity": 1}],
            "payment": CASH,
        }
        batch = [earlier, sale] if round_ % 2 else [sale]
        headers = {"Idempotency-Key": f"upload-{round_}"} if round_ % 2 else {}
        live_headers = {"Idempotency-Key": f"live-{round_}"} if round_ % 4 >= 2 else {}

        # When the till sends the sale live while its offline upload carries it too
        (live_status, live, _), (bulk_status, bulk, _) = run_parallel(
            2,
            lambda i, sale=sale, batch=batch, headers=headers, live_headers=live_headers: (
                http_json("POST", live_url, key, sale, live_headers)
                if i == 0
                else http_json("POST", bulk_url, key, {"sales": batch}, headers)
            ),
        )

        # Then both answer 2xx, exactly one of them made the sale, and they agree on it
        assert live_status in (200, 201), (round_, live)
        assert bulk_status == 200, (round_, bulk)
        result = bulk["results"][-1]
        assert result["status"] == "recorded", (round_, result)
        assert live["replayed"] is (live_status == 200)
        assert [live["replayed"], result["replayed"]] in ([False, True], [True, False]), round_
        assert live["order"]["id"] == result["order"]["id"]
        assert live["order"]["status"] == "completed"

    # And every sale was counted once, in the orders and in the stock
    earlier_sales = ROUNDS // 2
    assert Order.objects.count() == ROUNDS + earlier_sales
    assert PosSale.objects.filter(status="recorded").count() == ROUNDS + earlier_sales
    assert PosSale.objects.count() == ROUNDS + earlier_sales
    assert _soho(catalog, "tee") == 100 - ROUNDS
    assert _soho(catalog, "mug") == 100 - ROUNDS - earlier_sales
    assert stock_check() == []
