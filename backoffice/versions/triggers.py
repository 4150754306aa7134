"""The database triggers that count changes to watched tables, for PostgreSQL and SQLite.

One trigger per watched table and kind. PostgreSQL: a statement-level trigger for INSERT,
DELETE, TRUNCATE and UPDATE OF the watched columns adds a random weight to the counter of
(kind, this session) (`DataVersion`), inserted on the session's first change. SQLite
(`make run`, one writer at a time): row-level triggers, one counter per kind (slot 0).
Installing is idempotent and follows the models as they are (a column added later is
watched from the next `migrate` on); it runs after every `migrate` (`apps.py`).

A statement that changes no row still counts on PostgreSQL (an `UPDATE ... WHERE` that
matched nothing): a cache is then read again once for nothing, never served stale.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections

from backoffice.versions.models import DataVersion
from backoffice.versions.registry import Watched, watched

FUNCTION = "versions_data_changed"
# Weights from 1 to 2^30: after a test database is flushed, a sum repeats one seen
# before it only by a chance of about one in a billion.
WEIGHT_POSTGRESQL = "1 + floor(random() * 1073741823)::bigint"
WEIGHT_SQLITE = "(abs(random()) % 1073741823) + 1"


def _columns(item: Watched) -> list[str]:
    model = apps.get_model(item.model)
    return [
        field.column
        for field in model._meta.concrete_fields
        if field.name not in item.ignore and field.column
    ]


def _name(item: Watched, table: str) -> str:
    return f"versions_{item.kind}_{table}"[:63]


def _upsert(quote, counters: str, kind: str, slot: str, weight: str) -> str:
    # Names and expressions of this module only.
    return (
        f"INSERT INTO {quote(counters)} (name, slot, value) "  # noqa: S608
        f"VALUES ({kind}, {slot}, {weight}) "
        f"ON CONFLICT (name, slot) DO UPDATE SET value = {quote(counters)}.value + excluded.value"
    )


def _postgresql(connection, items: list[Watched], counters: str) -> list[str]:
    quote = connection.ops.quote_name
    upsert = _upsert(quote, counters, "TG_ARGV[0]", "pg_backend_pid()", WEIGHT_POSTGRESQL)
    statements = [
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {upsert}; RETURN NULL; END $$"
    ]
    for item in items:
        table = apps.get_model(item.model)._meta.db_table
        name = quote(_name(item, table))
        columns = ", ".join(quote(column) for column in _columns(item))
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}",
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {columns} "
            f"ON {quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}('{item.kind}')",
        ]
    return statements


def _sqlite(connection, items: list[Watched], counters: str) -> list[str]:
    quote = connection.ops.quote_name
    statements = []
    for item in items:
        table = apps.get_model(item.model)._meta.db_table
        upsert = _upsert(quote, counters, f"'{item.kind}'", "0", WEIGHT_SQLITE)
        columns = ", ".join(quote(column) for column in _columns(item))
        for event, when in (
            ("insert", "INSERT"),
            ("delete", "DELETE"),
            ("update", f"UPDATE OF {columns}"),
        ):
            name = quote(f"{_name(item, table)}_{event}")
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {when} ON {quote(table)} "
                f"FOR EACH ROW BEGIN {upsert}; END",
            ]
    return statements


def triggers_install(using: str = "default", **kwargs) -> None:
    """Create (or replace) the trigger of every watched table that exists in `using`."""
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    counters = DataVersion._meta.db_table
    if counters not in tables:
        return  # migrated only part of the way: nothing may write to a missing table
    items = [item for item in watched() if apps.get_model(item.model)._meta.db_table in tables]
    build = {"postgresql": _postgresql, "sqlite": _sqlite}.get(connection.vendor)
    if build is None or not items:
        return
    with connection.cursor() as cursor:
        for statement in build(connection, items, counters):
            cursor.execute(statement)
