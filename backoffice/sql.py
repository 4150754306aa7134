"""Hand-written SQL for the few hot paths where building the query cost more than running it.

Profiling a checkout (docs/performance.md) showed the ORM spending more CPU compiling
the stock queries than PostgreSQL spent answering them. The statements here are plain
and portable between PostgreSQL and SQLite (`make run`): `IN (%s, ...)` lists instead
of arrays, and row locks only where the database has them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    """The model's table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)


def placeholders(count: int) -> str:
    """`%s, %s, ...` for an `IN (...)` list of `count` values (at least one)."""
    return ", ".join(["%s"] * count)


def lock_rows_of(alias: str, *, nowait: bool = False) -> str:
    """`FOR UPDATE OF alias [NOWAIT]` where the database locks rows (PostgreSQL); else nothing."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    clause = f" FOR UPDATE OF {alias}" if features.has_select_for_update_of else " FOR UPDATE"
    return f"{clause} NOWAIT" if nowait and features.has_select_for_update_nowait else clause


def greatest(*expressions: str) -> str:
    """The largest of the SQL expressions: `GREATEST(...)` on PostgreSQL, `MAX(...)` on SQLite."""
    function = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    return f"{function}({', '.join(expressions)})"


def fetch(sql: str, params: Sequence[object]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[object]) -> int:
    """Run one statement; returns the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
