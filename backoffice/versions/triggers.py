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

Per item (`registry.watch_items`, e.g. the stock of each product): row-level triggers
of the same events call a function of the table's own, which finds the row's item (its
expression, e.g. the variant's product: one index lookup) and adds a random weight to the
counter of (kind, item, this session) (`ItemVersion`), once per changed row and, for a row
moved to another item, for both. Under a hot row's lock (a stock level in a flash sale)
that is the trigger's whole work: one `UPDATE` of this session's own counter row, which no
other session writes (so nothing queues on it), with the item's lookup inside it; the
upsert only when the session has no row for the item yet. A table may narrow what counts
(`WatchedItems.changed`, `.deleted`: the stock rows count what a page shows, not every
column). A `TRUNCATE` of such a table counts as a change of the whole kind (`DataVersion`).

SQLite (`make run`, one writer at a time): row-level triggers, one counter per kind
(slot 0), a bump per row. Installing is idempotent and follows the models and the table
as they are (a column added later is watched from the next `migrate` on; a column the
model has but the table not yet, half-way through migrations, is left out); it runs
after every `migrate` (`apps.py`) and in this app's migration 0002.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections

from backoffice.versions.models import DataVersion, ItemVersion
from backoffice.versions.registry import Watched, WatchedItems, watched, watched_items

FUNCTION = "versions_data_changed"
# Weights from 1 to 2^30: after a test database is flushed, a sum repeats one seen
# before it only by a chance of about one in a billion.
WEIGHT_POSTGRESQL = "1 + floor(random() * 1073741823)::bigint"
WEIGHT_SQLITE = "(abs(random()) % 1073741823) + 1"


def _columns(item: Watched | WatchedItems, present: set[str] | None = None) -> list[str]:
    """The watched columns: the model's, less `ignore`, and only those in `present` if given."""
    model = apps.get_model(item.model)
    return [
        field.column
        for field in model._meta.concrete_fields
        if field.name not in item.ignore
        and field.column
        and (present is None or field.column in present)
    ]


def _name(item: Watched | WatchedItems, table: str) -> str:
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
                *_postgresql_triggers(
                    quote, table, name, columns, call=f"EXECUTE FUNCTION {FUNCTION}('{item.kind}')"
                ),
            ]
    return statements


def _postgresql_triggers(
    quote,
    table: str,
    name: str,
    columns: list[str],
    *,
    call: str,
    truncate_call: str | None = None,
    updates_only: bool = False,
    changed: str | None = None,
    deleted: str | None = None,
) -> list[str]:
    """The DROP and CREATE of a watched table's triggers: its rows inserted or deleted
    (unless `updates_only`; with it, the deletes for which `deleted` holds, if given),
    updated in a watched column (or as `changed` says), and TRUNCATE (`truncate_call`,
    `call` by default), each running `call` (`EXECUTE FUNCTION ...`)."""
    old = ", ".join(f"OLD.{quote(column)}" for column in columns)
    new = ", ".join(f"NEW.{quote(column)}" for column in columns)
    # ROW(...) also for a single column: a row compares as a whole, NULLs included.
    triggers = {
        "rows": f"AFTER INSERT OR DELETE ON {quote(table)} FOR EACH ROW {call}",
        "update": f"AFTER UPDATE ON {quote(table)} FOR EACH ROW "
        f"WHEN ({changed or f'ROW({old}) IS DISTINCT FROM ROW({new})'}) {call}",
        "truncate": f"AFTER TRUNCATE ON {quote(table)} FOR EACH STATEMENT {truncate_call or call}",
    }
    if updates_only:
        del triggers["rows"]
        if deleted:
            triggers["deleted"] = (
                f"AFTER DELETE ON {quote(table)} FOR EACH ROW WHEN ({deleted}) {call}"
            )
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


def _item_upsert(quote, counters: str, kind: str, item: str, slot: str, weight: str) -> str:
    # Names and expressions of this module and of the registry only.
    return (
        f"INSERT INTO {quote(counters)} (name, item, slot, value) "
        f"SELECT '{kind}', {item}, {slot}, {weight} WHERE {item} IS NOT NULL "
        f"ON CONFLICT (name, item, slot) DO UPDATE SET value = {quote(counters)}.value + "
        "excluded.value"
    )


def _postgresql_items(connection, items: list[WatchedItems], counters: str) -> list[str]:
    quote = connection.ops.quote_name
    statements = []
    with connection.cursor() as cursor:
        for watch in items:
            table = apps.get_model(watch.model)._meta.db_table
            present = {
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            }
            name = f"{_name(watch, table)[:50]}_items"
            function = quote(name)
            new, old = watch.item.format(row="NEW"), watch.item.format(row="OLD")
            moved = " OR ".join(
                f"OLD.{quote(column)} IS DISTINCT FROM NEW.{quote(column)}"
                for column in watch.columns
            )

            def upsert(item: str, kind: str = watch.kind) -> str:
                return _item_upsert(
                    quote, counters, kind, item, "pg_backend_pid()", WEIGHT_POSTGRESQL
                )

            # An update that leaves the row with its item (the common case: a stock row's
            # units) adds to this session's counter row with one statement, the lookup of
            # the item inside it; the upsert only when the session has no row yet.
            counter = quote(counters)
            statements.append(
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608
                "DECLARE new_item bigint; old_item bigint; BEGIN "
                f"IF TG_OP = 'UPDATE' AND NOT ({moved}) THEN "
                f"UPDATE {counter} SET value = {counter}.value + {WEIGHT_POSTGRESQL} "
                f"WHERE name = '{watch.kind}' AND slot = pg_backend_pid() AND item = {new}; "
                "IF FOUND THEN RETURN NULL; END IF; END IF; "
                f"IF TG_OP = 'DELETE' THEN old_item := {old}; ELSE new_item := {new}; "
                f"IF TG_OP = 'UPDATE' AND ({moved}) THEN old_item := {old}; END IF; END IF; "
                f"IF new_item IS NOT NULL THEN {upsert('new_item')}; END IF; "
                "IF old_item IS NOT NULL AND old_item IS DISTINCT FROM new_item THEN "
                f"{upsert('old_item')}; END IF; RETURN NULL; END $$"
            )
            statements += _postgresql_triggers(
                quote,
                table,
                name,
                _columns(watch, present),
                call=f"EXECUTE FUNCTION {function}()",
                # No item to name: the whole kind changes.
                truncate_call=f"EXECUTE FUNCTION {FUNCTION}('{watch.kind}')",
                updates_only=watch.updates_only,
                changed=watch.changed,
                deleted=watch.deleted,
            )
    return statements


def _sqlite_items(connection, items: list[WatchedItems], counters: str) -> list[str]:
    quote = connection.ops.quote_name
    statements = []
    for watch in items:
        table = apps.get_model(watch.model)._meta.db_table
        new, old = watch.item.format(row="NEW"), watch.item.format(row="OLD")
        upsert_new = _item_upsert(quote, counters, watch.kind, new, "0", WEIGHT_SQLITE)
        upsert_old = _item_upsert(quote, counters, watch.kind, old, "0", WEIGHT_SQLITE)
        moved = upsert_old.replace(" IS NOT NULL ", f" IS NOT NULL AND {old} IS NOT {new} ", 1)
        columns = ", ".join(quote(column) for column in _columns(watch))
        for event, when, body in (
            ("insert", "INSERT", f"{upsert_new};"),
            ("delete", "DELETE", f"{upsert_old};"),
            ("update", f"UPDATE OF {columns}", f"{upsert_new}; {moved};"),
        ):
            if watch.updates_only and event != "update":
                continue
            name = quote(f"{_name(watch, table)[:50]}_items_{event}")
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {when} ON {quote(table)} "
                f"FOR EACH ROW BEGIN {body} END",
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
    if build is None:
        return
    statements = build(connection, items, counters) if items else []
    per_item = [
        item for item in watched_items() if apps.get_model(item.model)._meta.db_table in tables
    ]
    if per_item and ItemVersion._meta.db_table in tables:
        build_items = {"postgresql": _postgresql_items, "sqlite": _sqlite_items}[connection.vendor]
        if connection.vendor == "postgresql" and not items:
            statements += _postgresql(connection, [], counters)  # the TRUNCATE's function
        statements += build_items(connection, per_item, ItemVersion._meta.db_table)
    with connection.cursor() as cursor:
        for statement in _stale_dropped(connection, cursor, statements) + statements:
            cursor.execute(statement)


def _stale_dropped(connection, cursor, statements: list[str]) -> list[str]:
    """DROPs of this module's triggers that the registry no longer asks for (a table whose
    changes are now counted per item, not for the whole kind, loses its old triggers)."""
    created = {
        statement.split()[2].strip('"')
        for statement in statements
        if statement.startswith("CREATE TRIGGER ")
    }
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT tgname, relname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid "
            "WHERE NOT tgisinternal AND tgname LIKE 'versions\\_%%'"
        )
        return [
            f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}"
            for name, table in cursor.fetchall()
            if name not in created
        ]
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'versions_%%'"
    )
    return [
        f"DROP TRIGGER IF EXISTS {quote(name)}"
        for (name,) in cursor.fetchall()
        if name not in created
    ]
