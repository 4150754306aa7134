"""Staff set-up services (vouchers, shipping methods): every bad input refused, nothing written.

The two creates check a code is free and then insert it; a create that commits the same code
in between must give the same refusal, not an IntegrityError (a 500 in the admin API).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from orders.models import ShippingMethod, Voucher
from orders.services.setup import shipping_method_create, voucher_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_voucher_of_an_unknown_kind_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        voucher_create(code="HALF", kind="percent", value="50")
    assert "kind" in refused.value.errors
    assert not Voucher.objects.exists()


def test_a_shipping_method_of_an_unknown_kind_is_refused():
    web = Channel.objects.create(code="web", name="Web")
    with pytest.raises(ValidationFailed) as refused:
        shipping_method_create(channel=web, code="drone", name="Drone", kind="drone")
    assert "kind" in refused.value.errors
    assert not ShippingMethod.objects.exists()


def _insert_waits_on(other: threading.Thread, timeout: float = 30) -> bool:
    """Whether a backend came to wait on a lock (the racing insert on the unique index)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and other.is_alive():
        with connection.cursor() as cursor:
            # pg_locks, not pg_stat_activity: that one is a snapshot per transaction
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def _race(first_insert, second_create) -> list[object]:
    """`first_insert` runs in a transaction left open until `second_create` waits on it."""
    outcome: list[object] = []
    inserted = threading.Event()

    def second() -> None:
        inserted.wait(30)
        try:
            outcome.append(second_create())
        except ValidationFailed as error:
            outcome.append(error)
        finally:
            connections.close_all()

    racer = threading.Thread(target=second)
    racer.start()
    with transaction.atomic():
        first_insert()
        inserted.set()
        waited = _insert_waits_on(racer)
    racer.join(30)
    assert waited, f"the second create never waited on the first: {outcome}"
    return outcome


def test_two_creates_of_one_voucher_code_give_one_voucher_and_a_clear_refusal():
    outcome = _race(
        lambda: Voucher.objects.create(code="RACE", kind="fixed", value="1.00"),
        lambda: voucher_create(code="RACE", kind="fixed", value="2.00"),
    )
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationFailed), outcome
    assert "code" in outcome[0].errors
    assert list(Voucher.objects.values_list("code", "value")) == [("RACE", 1)]


def test_two_creates_of_one_shipping_code_give_one_method_and_a_clear_refusal():
    web = Channel.objects.create(code="web", name="Web")
    outcome = _race(
        lambda: ShippingMethod.objects.create(channel=web, code="std", name="A", price="1.00"),
        lambda: shipping_method_create(channel=web, code="std", name="B", price="2.00"),
    )
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationFailed), outcome
    assert "code" in outcome[0].errors
    assert list(ShippingMethod.objects.values_list("name", flat=True)) == ["A"]
