"""Hand-written SQL for the few hot paths where building the query cost more than running it.

Profiling a checkout (docs/performance.md) showed the ORM spending more CPU compiling
the stock queries than PostgreSQL spent answering them. The statements here are plain
and portable between PostgreSQL and SQLite (`make run`): `IN (%s, ...)` lists instead
of arrays, and row locks only where the database has them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def rows_insert(
    *groups: Sequence[models.Model],
    also: Callable[[], tuple[str, list] | None] | None = None,
    counted: tuple[str, list] | None = None,
) -> int | None:
    """Insert new rows of several models (each group one model) together, and set their ids.

    `also`, called once the rows' fields are prepared (their `created_at` set), may give one
    more writing statement (an UPDATE, without RETURNING) to run with them. `counted` is
    another writing statement, with `RETURNING`, run with them too: the number of rows it
    returned is returned (None without one), e.g. whether a conditional UPDATE matched.

    PostgreSQL: one statement, each group an `INSERT` in a `WITH` (they all run, referenced
    or not), the generated ids read back from their `RETURNING`. SQLite: `bulk_create` per
    group. For the rows a workflow writes at once (an order's lines, payment, timeline and
    events): one round trip instead of one per table. Fields' `pre_save` (auto_now_add)
    and database preparation run as in `bulk_create`; no signals are sent (none are used).
    """
    groups = [list(group) for group in groups if group]
    if connection.vendor != "postgresql":
        for group in groups:
            type(group[0]).objects.bulk_create(group)
        statement = also() if also is not None else None
        if statement is not None:
            execute(*statement)
        return len(fetch(*counted)) if counted is not None else None
    quote = connection.ops.quote_name
    parts, reads, params, generated = [], [], [], []
    for index, group in enumerate(groups):
        meta = type(group[0])._meta
        pk = meta.pk
        auto = getattr(group[0], pk.attname) is None
        fields = [field for field in meta.concrete_fields if not (auto and field is pk)]
        row = f"({placeholders(len(fields))})"
        returning = f" RETURNING {quote(pk.column)}" if auto else ""
        parts.append(
            f"i{index} AS (INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - names from the models
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES {', '.join([row] * len(group))}{returning})"
        )
        for obj in group:
            params += [
                field.get_db_prep_save(field.pre_save(obj, add=True), connection)
                for field in fields
            ]
        if auto:
            reads.append(f"SELECT {index}, {quote(pk.column)} FROM i{index}")  # noqa: S608
            generated.append(index)
    statement = also() if also is not None else None
    if statement is not None:
        parts.append(f"also AS ({statement[0]})")
        params += statement[1]
    if counted is not None:
        parts.append(f"counted AS ({counted[0]})")
        params += counted[1]
        reads.append("SELECT -1, COUNT(*) FROM counted")
    if not parts:
        return None
    select = " UNION ALL ".join(reads) if reads else "SELECT NULL, NULL"
    ids: dict[int, list] = {index: [] for index in generated}
    count = None
    for index, pk_value in fetch(f"WITH {', '.join(parts)} {select}", params):
        if index == -1:
            count = int(pk_value)
        elif index is not None:
            ids[index].append(pk_value)
    for index, group in enumerate(groups):
        # Ids come from the sequence in the order the rows were listed.
        for obj, pk_value in zip(group, sorted(ids.get(index, [])), strict=False):
            setattr(obj, obj._meta.pk.attname, pk_value)
        for obj in group:
            obj._state.adding, obj._state.db = False, connection.alias
    return count


def writes_run(*statements: tuple[str, list] | None) -> None:
    """Run several writing statements (INSERT, UPDATE, DELETE, without RETURNING) together.

    PostgreSQL: one round trip, all but the last in a `WITH` (a data-modifying `WITH` runs
    to completion, referenced or not; the parts must not touch the same rows). SQLite: one
    statement after the other. `None`s are skipped.
    """
    given = [statement for statement in statements if statement is not None]
    if not given:
        return
    if connection.vendor != "postgresql" or len(given) == 1:
        for sql, params in given:
            execute(sql, params)
        return
    *parts, (last, last_params) = given
    with_ = ", ".join(f"w{index} AS ({sql})" for index, (sql, _) in enumerate(parts))
    execute(
        f"WITH {with_} {last}", [value for _, params in parts for value in params] + last_params
    )
