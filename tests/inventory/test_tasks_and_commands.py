"""The purge task, its beat schedule, and `manage.py check_stock`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.utils import timezone

from inventory.models import Allocation, Reservation, StockLevel
from inventory.services import StockLine, stock_allocate, stock_reserve
from inventory.tasks import reservations_purge_expired_task
from tests.factories import receive
from tests.inventory.helpers import inventory_snapshot

pytestmark = pytest.mark.django_db


def test_purge_task_deletes_only_expired_reservations(web, main, tee):
    receive(tee, main, 10)
    for holder in ("cart:old-1", "cart:old-2", "cart:live"):
        stock_reserve(channel=web, holder=holder, lines=[StockLine(tee, 1)])
    Reservation.objects.filter(holder__startswith="cart:old").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert reservations_purge_expired_task.run() == 2

    assert list(Reservation.objects.values_list("holder", flat=True)) == ["cart:live"]
    assert reservations_purge_expired_task.run() == 0  # safe to run again


def test_purge_task_runs_every_minute_and_acknowledges_late():
    entry = settings.CELERY_BEAT_SCHEDULE["inventory-purge-expired-reservations"]

    assert entry["task"] == reservations_purge_expired_task.name
    assert entry["schedule"] == 60.0
    assert reservations_purge_expired_task.acks_late is True


def check_stock() -> str:
    out = StringIO()
    call_command("check_stock", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_check_stock_passes_on_sound_data(web, main, tee):
    receive(tee, main, 10)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 2)])
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])

    assert check_stock() == "Stock is consistent (1 stock levels).\n"


def test_check_stock_fails_listing_an_on_hand_that_disagrees_with_the_ledger(main, tee):
    receive(tee, main, 10)
    level = StockLevel.objects.get()
    StockLevel.objects.filter(pk=level.pk).update(on_hand=12)

    with pytest.raises(CommandError) as caught:
        check_stock()

    assert str(caught.value) == (
        "1 stock problem(s):\n"
        f"- TEE in main (stock level {level.pk}): on_hand is 12, the ledger sums to 10."
    )


def test_check_stock_fails_listing_allocations_and_overpromised_stock(web, main, tee):
    receive(tee, main, 5)
    stock_allocate(channel=web, holder="order:1", lines=[StockLine(tee, 2)])
    stock_reserve(channel=web, holder="cart:1", lines=[StockLine(tee, 3)])
    level = StockLevel.objects.get()
    Allocation.objects.update(quantity=1)
    StockLevel.objects.filter(pk=level.pk).update(allocated=4)
    before = inventory_snapshot()

    with pytest.raises(CommandError) as caught:
        check_stock()

    where = f"TEE in main (stock level {level.pk})"
    assert str(caught.value).splitlines() == [
        "2 stock problem(s):",
        f"- {where}: allocated is 4, its allocations sum to 1.",
        f"- {where}: available is -2 (on_hand 5, allocated 4, reserved 3).",
    ]
    assert inventory_snapshot() == before  # checking never repairs anything


def test_check_stock_exits_non_zero_from_the_command_line(main, tee):
    receive(tee, main, 1)
    StockLevel.objects.update(on_hand=0)

    with pytest.raises(SystemExit) as caught:
        execute_from_command_line(["manage.py", "check_stock"])

    assert caught.value.code == 1
