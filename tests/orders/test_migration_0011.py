"""Migration orders.0011 on a database as it was before it: the backfill gives each existing
voucher the currency of its money (its channels' one currency when its amounts are exact in
it, the default currency otherwise; none for a percentage alone), and the constraints it
adds hold for what it backfilled."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("orders", "0010_voucher_code_unique_ignoring_case")]
AFTER = [("orders", "0011_voucher_currency")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0010(transactional_db, django_db_blocker, settings):
    """A database of its own, migrated up to orders.0010 (the suite's is built from the
    models, without migrations); the test's connection points at it while the test runs."""
    with django_db_blocker.unblock():
        original = connection.settings_dict["NAME"]
        settings.MIGRATION_MODULES = {}  # the project's migrations, which the suite turns off
        fresh = f"{original}_migration_0011"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
            cursor.execute(f'CREATE DATABASE "{fresh}"')
        connection.close()
        connection.settings_dict["NAME"] = fresh
        try:
            yield _migrate(BEFORE)
        finally:
            connection.close()
            connection.settings_dict["NAME"] = original
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{fresh}"')


def test_the_backfill_names_each_existing_vouchers_currency(at_0010, settings):
    settings.DEFAULT_CURRENCY = "GBP"  # distinct from every channel's
    Channel = at_0010.get_model("catalog", "Channel")
    Voucher = at_0010.get_model("orders", "Voucher")
    usd, eur, jpy, kwd = (
        Channel.objects.create(code=code, name=code, currency=code.upper())
        for code in ("usd", "eur", "jpy", "kwd")
    )
    for code, kind, value, minimum, channels in [
        ("USD5", "fixed", "5.00", None, [usd]),
        ("JPY500", "fixed", "500", None, [jpy]),
        ("JPYHALF", "fixed", "5.50", None, [jpy]),  # not exact in yen: the default
        ("KWD1", "fixed", "1.250", None, [kwd]),
        ("TWO", "fixed", "5", None, [usd, eur]),  # two currencies: the default
        ("EVERY", "fixed", "5", None, []),  # every channel: the default
        ("PCT", "percentage", "10", None, [usd]),  # a percentage alone: none
        ("PCTMIN", "percentage", "10", "20.00", [eur]),
        ("PCTMINJPY", "percentage", "10", "20.50", [jpy]),  # minimum not exact: the default
    ]:
        voucher = Voucher.objects.create(
            code=code,
            kind=kind,
            value=Decimal(value),
            min_subtotal=None if minimum is None else Decimal(minimum),
        )
        voucher.channels.set(channels)

    after = _migrate(AFTER)

    currencies = dict(after.get_model("orders", "Voucher").objects.values_list("code", "currency"))
    assert currencies == {
        "USD5": "USD",
        "JPY500": "JPY",
        "JPYHALF": "GBP",
        "KWD1": "KWD",
        "TWO": "GBP",
        "EVERY": "GBP",
        "PCT": "",
        "PCTMIN": "EUR",
        "PCTMINJPY": "GBP",
    }
