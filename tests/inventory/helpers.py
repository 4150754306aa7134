"""Helpers for inventory tests: a snapshot of every stock table, and real parallel threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from backoffice.outbox.models import OutboxEvent
from inventory.models import (
    Allocation,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseChannel,
)


def inventory_snapshot() -> dict[str, list]:
    """Everything a stock workflow may write, to assert that a refused one wrote nothing."""
    return {
        "warehouses": list(
            Warehouse.objects.order_by("id").values_list("id", "code", "name", "kind", "active")
        ),
        "routes": list(
            WarehouseChannel.objects.order_by("id").values_list(
                "warehouse_id", "channel_id", "priority"
            )
        ),
        "levels": list(
            StockLevel.objects.order_by("id").values_list(
                "id", "variant_id", "warehouse_id", "on_hand", "allocated", "updated_at"
            )
        ),
        "reservations": list(
            Reservation.objects.order_by("id").values_list(
                "id", "stock_level_id", "holder", "quantity", "expires_at"
            )
        ),
        "allocations": list(
            Allocation.objects.order_by("id").values_list(
                "id", "stock_level_id", "holder", "quantity"
            )
        ),
        "movements": list(StockMovement.objects.order_by("id").values_list("id", "delta")),
        "events": list(OutboxEvent.objects.order_by("created_at").values_list("id", flat=True)),
    }


def run_in_threads(calls: list[Callable[[], Any]], timeout: float = 120) -> list[tuple[Any, Any]]:
    """Run each call on its own thread (own database connection), all released at once.

    Returns `(result, exception)` per call, in order; every thread closes its
    connections when done, so the test database can be flushed afterwards.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[Any, Any]] = [(None, None)] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = (call(), None)
        except BaseException as error:  # every outcome is asserted by the test
            outcomes[index] = (None, error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return outcomes
