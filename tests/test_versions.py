"""The versions of cached data (backoffice/versions): counted by triggers in the writer's
transaction, never queued behind one another, kept through compaction."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from backoffice.versions.current import data_versions_compact, data_versions_read, item_versions
from backoffice.versions.models import DataVersion, ItemVersion
from catalog.models import Channel
from channels_api.models import ApiKey
from inventory.models import StockLevel
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive
from tests.processes import django_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_committed_change_changes_its_kind_and_a_rolled_back_one_nothing():
    web = make_channel("web")
    before = data_versions_read()

    with pytest.raises(RuntimeError), transaction.atomic():
        Channel.objects.filter(pk=web.pk).update(tax_rate="0.2000")
        raise RuntimeError("rolled back")
    assert data_versions_read() == before

    Channel.objects.filter(pk=web.pk).update(tax_rate="0.2000")
    after = data_versions_read()
    assert after["channels"] != before["channels"]
    assert {kind: value for kind, value in after.items() if kind != "channels"} == {
        kind: value for kind, value in before.items() if kind != "channels"
    }


def test_stamping_a_key_is_no_change_and_revoking_it_is():
    key = make_key(make_channel("web"))[0]
    before = data_versions_read()["keys"]

    ApiKey.objects.filter(pk=key.pk).update(last_used_at="2026-01-01T00:00:00Z")
    assert data_versions_read()["keys"] == before

    key.revoke()
    assert data_versions_read()["keys"] != before


def _stocked_channel() -> tuple[Channel, StockLevel]:
    """A channel with one product of one SKU, 5 units in a warehouse serving it."""
    web = make_channel("web")
    warehouse = make_warehouse("main", channels=[web])
    receive(make_product(skus={"A": "1.00"}, channels=[web]).variants.get(), warehouse, 5)
    return web, StockLevel.objects.get()


def _stock_versions(level: StockLevel) -> tuple[dict[str, int], int]:
    """The kinds' versions and the level's product's stock version."""
    product = level.variant.product_id
    return data_versions_read(), item_versions("stock", [product])[product]


def test_a_statement_that_changes_no_row_is_no_change_and_a_real_change_is():
    web, level = _stocked_channel()
    before, product_before = _stock_versions(level)

    StockLevel.objects.filter(pk=level.pk, on_hand=999).update(on_hand=1)  # matches no row
    StockLevel.objects.filter(pk=level.pk).update(on_hand=level.on_hand)  # the same value
    StockLevel.objects.filter(pk=-1).delete()
    Channel.objects.filter(pk=web.pk).update(tax_rate=web.tax_rate)
    assert _stock_versions(level) == (before, product_before)

    StockLevel.objects.filter(pk=level.pk).update(on_hand=level.on_hand + 1)
    after, product_after = _stock_versions(level)
    # Counted for its product only: no kind changes (every other product's pages stand).
    assert product_after != product_before
    assert after == before


def test_a_stock_change_counts_for_its_product_only():
    web = make_channel("web")
    warehouse = make_warehouse("main", channels=[web])
    products = [make_product(skus={sku: "1.00"}, channels=[web]) for sku in ("A", "B")]
    for product in products:
        receive(product.variants.get(), warehouse, 5)
    ids = [product.pk for product in products]
    before = item_versions("stock", ids)

    StockLevel.objects.filter(variant__product=products[0]).update(allocated=1)

    after = item_versions("stock", ids)
    assert after[ids[0]] != before[ids[0]]
    assert after[ids[1]] == before[ids[1]]


def test_each_changing_statement_counts_in_a_transaction_and_a_rolled_back_savepoint_not():
    """A page cached between two changes of one transaction is not served after the second."""
    level = _stocked_channel()[1]
    slot = _my_pid()

    product = level.variant.product_id

    def counter() -> int:
        row = ItemVersion.objects.filter(name="stock", item=product, slot=slot).first()
        return row.value if row else 0

    start = counter()
    with transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(on_hand=6)
        first = counter()
        seen = item_versions("stock", [product])  # what a cache would stamp its page with
        StockLevel.objects.filter(pk=level.pk).update(on_hand=7)
        assert start != first != counter()
        assert item_versions("stock", [product]) != seen
    before = counter()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            StockLevel.objects.filter(pk=level.pk).update(on_hand=8)
            raise RuntimeError("savepoint rolled back")
        assert counter() == before
        StockLevel.objects.filter(pk=level.pk).update(on_hand=9)
    assert counter() != before
    assert StockLevel.objects.get().on_hand == 9


def test_two_transactions_changing_stock_never_wait_for_each_other():
    """One counter row per kind would queue every sale behind the last one's commit."""
    web = make_channel("web")
    warehouse = make_warehouse("main", channels=[web])
    for sku in ("A", "B"):
        receive(make_product(skus={sku: "1.00"}, channels=[web]).variants.get(), warehouse, 5)
    levels = list(StockLevel.objects.order_by("id").values_list("id", flat=True))
    first_wrote, second_done, errors = threading.Event(), threading.Event(), []

    def first() -> None:
        try:
            with transaction.atomic():
                StockLevel.objects.filter(pk=levels[0]).update(on_hand=4)
                first_wrote.set()
                second_done.wait(20)  # holds its counter until the second is done
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_wrote.wait(20)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                StockLevel.objects.filter(pk=levels[1]).update(on_hand=3)
        except Exception as error:  # a lock wait: the design is broken
            errors.append(error)
        finally:
            second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(StockLevel.objects.values_list("on_hand", flat=True)) == [3, 4]


def test_compaction_folds_ended_sessions_and_keeps_every_sum():
    web = make_channel("web")
    pids = []
    for rate in ("0.0100", "0.0200"):
        output = django_elsewhere(
            "from django.db import connection\n"
            "from catalog.models import Channel\n"
            f"Channel.objects.filter(pk={web.pk}).update(tax_rate='{rate}')\n"
            "with connection.cursor() as cursor:\n"
            "    cursor.execute('SELECT pg_backend_pid()')\n"
            "    print('PID', cursor.fetchone()[0])\n"
        )
        pids.append(int(output.split("PID ")[1].split()[0]))
    assert DataVersion.objects.filter(slot__in=pids, name="channels").count() == 2
    _wait_ended(pids)
    before = data_versions_read()

    assert data_versions_compact() >= 2

    assert data_versions_read() == before
    assert not DataVersion.objects.filter(slot__in=pids).exists()
    Channel.objects.filter(pk=web.pk).update(tax_rate="0.0300")
    assert data_versions_read()["channels"] != before["channels"]


def test_compaction_folds_the_per_item_counters_of_ended_sessions_too():
    level = _stocked_channel()[1]
    product = level.variant.product_id
    output = django_elsewhere(
        "from django.db import connection\n"
        "from inventory.models import StockLevel\n"
        f"StockLevel.objects.filter(pk={level.pk}).update(on_hand=8)\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SELECT pg_backend_pid()')\n"
        "    print('PID', cursor.fetchone()[0])\n"
    )
    pid = int(output.split("PID ")[1].split()[0])
    assert ItemVersion.objects.filter(slot=pid, item=product).exists()
    _wait_ended([pid])
    before = item_versions("stock", [product])

    assert data_versions_compact() >= 1

    assert item_versions("stock", [product]) == before
    assert not ItemVersion.objects.filter(slot=pid).exists()


def _wait_ended(pids: list[int]) -> None:
    for _ in range(100):
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the other processes' sessions did not end")


def _my_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
