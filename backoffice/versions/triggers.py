"""The database triggers that count changes to watched tables, for PostgreSQL and SQLite.

PostgreSQL: per watched table and kind, row-level `AFTER INSERT OR DELETE` and
`AFTER UPDATE ... WHEN (the watched columns IS DISTINCT FROM before)` triggers, and a
statement-level `AFTER TRUNCATE` one. They cost nothing for a statement that changes no
row (an `UPDATE ... WHERE` that matched nothing, a `DELETE` of no row, an
`INSERT ... ON CONFLICT DO NOTHING` that inserted nothing, an `UPDATE` that sets the
values already there or only ignored fields): no row, no event. The first changed row of
a kind in a statement adds a random weight to the counter of (kind, this session)
(`DataVersion`, inserted on the session's first change) and marks the kind done for that
statement (`set_config('versions.<kind>', statement_timestamp(), is_local)`, undone
with a rolled-back savepoint, as the counter's write is): the statement's other rows of
that kind skip the upsert, so a statement that changes many rows, or a `WITH` that
changes two tables of a kind, writes the counter once. Every statement that changes a
row still counts, as before: a transaction that reads the versions (and caches what it
read) between two of its changes sees the second one change them too.

SQLite (`make run`, one writer at a time): row-level triggers, one counter per kind
(slot 0), a bump per row. Installing is idempotent and follows the models and the table
as they are (a column added later is watched from the next `migrate` on; a column the
model has but the table not yet, half-way through migrations, is left out); it runs
after every `migrate` (`apps.py`) and in this app's migration 0002.
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


def _columns(item: Watched, present: set[str] | None = None) -> list[str]:
    """The watched columns: the model's, less `ignore`, and only those in `present` if given."""
    model = apps.get_model(item.model)
    return [
        field.column
        for field in model._meta.concrete_fields
        if field.name not in item.ignore
        and field.column
        and (present is None or field.column in present)
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
    done = "'versions.' || TG_ARGV[0]"
    statement = "statement_timestamp()::text"
    statements = [
        # Once per kind and statement; a TRUNCATE (statement-level) always counts.
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF TG_LEVEL = 'STATEMENT' OR "
        f"current_setting({done}, true) IS DISTINCT FROM {statement} THEN {upsert}; "
        f"PERFORM set_config({done}, {statement}, true); END IF; RETURN NULL; END $$"
    ]
    with connection.cursor() as cursor:
        for item in items:
            table = apps.get_model(item.model)._meta.db_table
            present = {
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            }
            columns = _columns(item, present)
            name = _name(item, table)
            statements += [
                f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}",  # before 0002
                *_postgresql_triggers(quote, item.kind, table, name, columns),
            ]
    return statements


def _postgresql_triggers(quote, kind: str, table: str, name: str, columns: list[str]) -> list[str]:
    call = f"EXECUTE FUNCTION {FUNCTION}('{kind}')"
    old = ", ".join(f"OLD.{quote(column)}" for column in columns)
    new = ", ".join(f"NEW.{quote(column)}" for column in columns)
    # ROW(...) also for a single column: a row compares as a whole, NULLs included.
    triggers = {
        "rows": f"AFTER INSERT OR DELETE ON {quote(table)} FOR EACH ROW {call}",
        "update": f"AFTER UPDATE ON {quote(table)} FOR EACH ROW "
        f"WHEN (ROW({old}) IS DISTINCT FROM ROW({new})) {call}",
        "truncate": f"AFTER TRUNCATE ON {quote(table)} FOR EACH STATEMENT {call}",
    }
    statements = []
    for event, definition in triggers.items():
        trigger = quote(f"{name[:54]}_{event}")
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger} ON {quote(table)}",
            f"CREATE TRIGGER {trigger} {definition}",
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
