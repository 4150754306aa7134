"""Hand-written SQL for the few hot paths where building the query cost more than running it.

Profiling a checkout (docs/performance.md) showed the ORM spending more CPU compiling
the stock queries than PostgreSQL spent answering them. The statements here are plain
and portable between PostgreSQL and SQLite (`make run`): `IN (%s, ...)` lists instead
of arrays, and row locks only where the database has them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, models

logger = logging.getLogger(__name__)

# psycopg keeps the parsing of a statement's text (its `%s` split into parts) only for
# statements of at most 50 parameters and 4 KiB: the order's rows in one `WITH` (60+
# parameters for one line) were parsed again on every checkout. These bounds let the
# few larger fixed-shape statements of the hot paths be kept as well (the cache holds
# 128 statements whatever their size). Applied at startup (`statement_cache_widen`).
STATEMENT_CACHE_MAX_PARAMS = 400
STATEMENT_CACHE_MAX_LENGTH = 32_768


def statement_cache_widen() -> bool:
    """Raise psycopg's bounds on which statements have their parsing cached, never lower
    them; returns whether they are raised.

    The bounds are psycopg's own module constants, not a documented setting: a psycopg
    without them (renamed in a later release) leaves the cache as it is, with a warning,
    and the server starts as before (only a little more CPU per checkout); the test
    suite fails instead (`tests/orders/test_rows_statements.py`), so an upgrade that
    renamed them is seen before it ships."""
    try:
        import psycopg
        from psycopg import _queries
    except ImportError:  # no psycopg: SQLite only
        return False
    bounds = (
        ("MAX_CACHED_STATEMENT_PARAMS", STATEMENT_CACHE_MAX_PARAMS),
        ("MAX_CACHED_STATEMENT_LENGTH", STATEMENT_CACHE_MAX_LENGTH),
    )
    if not all(isinstance(getattr(_queries, name, None), int) for name, _ in bounds):
        logger.warning(
            "psycopg %s has no statement-cache bounds to raise: large statements are "
            "parsed on every call (backoffice/sql.py, statement_cache_widen)",
            psycopg.__version__,
        )
        return False
    for name, value in bounds:
        setattr(_queries, name, max(getattr(_queries, name), value))
    return True


_TABLES: dict[type[models.Model], str] = {}


def table(model: type[models.Model]) -> str:
    """The model's table name, quoted for the database (kept per model: PostgreSQL and
    SQLite quote names alike, and the hot paths name a table in most statements)."""
    name = _TABLES.get(model)
    if name is None:
        name = _TABLES[model] = connection.ops.quote_name(model._meta.db_table)
    return name


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


_READS: dict[tuple, tuple[str, list[str], dict]] = {}


def _read_shape(model: type[models.Model], alias: str) -> tuple[str, list[str], dict]:
    """The model's columns under `alias` (`a."id", a."sku", ...`), their attribute names, and
    the converters their values need (a JSON column's decoding...), as a queryset's."""
    key = (model, alias, connection.vendor)
    shape = _READS.get(key)
    if shape is None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        columns = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
        compiler = connection.ops.compiler("SQLCompiler")(
            models.sql.Query(model), connection, connection.alias
        )
        converters = compiler.get_converters(
            [field.get_col(model._meta.db_table) for field in fields]
        )
        shape = _READS[key] = (columns, [field.attname for field in fields], converters)
    return shape


def models_read(
    model: type[models.Model],
    alias: str,
    sql: str,
    params: Sequence[object],
    extra: Sequence[str] = (),
) -> list[models.Model]:
    """Instances of `model` from one written-out `SELECT {columns}[, extra...] FROM ...`:
    `sql` has `{columns}` where the model's columns under `alias` go, then the `extra`
    columns, whose values are set as attributes of those names, as they come.

    What `Model.objects.raw()` gives, without its per-query work (the cursor's description
    matched to the model's fields, the converters looked up): each shape's is kept."""
    columns, names, converters = _read_shape(model, alias)
    rows = fetch(sql.replace("{columns}", columns, 1), params)
    if converters:
        compiler = connection.ops.compiler("SQLCompiler")(
            models.sql.Query(model), connection, connection.alias
        )
        rows = compiler.apply_converters(rows, converters)
    count, db = len(names), connection.alias
    instances = []
    for row in rows:
        instance = model.from_db(db, names, row[:count])
        for name, value in zip(extra, row[count:], strict=True):
            setattr(instance, name, value)
        instances.append(instance)
    return instances


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
    parts, reads, params, generated = [], [], [], []
    for index, group in enumerate(groups):
        model = type(group[0])
        auto = getattr(group[0], model._meta.pk.attname) is None
        insert, fields = _insert_shape(model, auto, len(group))
        parts.append(f"i{index} AS ({insert})")
        for obj in group:
            params += [field_value(obj) for field_value in fields]
        if auto:
            reads.append(f"SELECT {index}, {quote_pk(model)} FROM i{index}")  # noqa: S608
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


# Fields whose `pre_save` only reads the attribute and whose database value is the
# attribute itself when it has the type below, at most wrapped in the field's parameter
# type (`get_db_prep_save` gives `Int4(value)` for an integer column on psycopg): their
# value is read directly. Exact classes only; any other field, or a value of another
# type, goes through `pre_save` and `get_db_prep_save` as `bulk_create` does.
_AS_IS: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.EmailField: (str,),
    models.SlugField: (str,),
    models.IntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.BigIntegerField: (int,),
    models.BooleanField: (bool,),
    # A finite Decimal and a UUID are what PostgreSQL's preparation gives back as they are.
    models.DecimalField: (Decimal,),
    models.UUIDField: (uuid.UUID,),
}


_SAMPLES = {
    str: "x",
    int: 1,
    bool: True,
    Decimal: Decimal("1.5"),
    uuid.UUID: uuid.UUID(int=1),
}


def _field_value(field: models.Field) -> Callable[[models.Model], object]:
    """How `rows_insert` reads `field`'s value to insert from a new object."""
    if type(field) is models.DateTimeField:
        return _datetime_value(field)
    kinds = _AS_IS.get(type(field))
    if type(field) in (models.ForeignKey, models.OneToOneField):
        target = field.target_field
        if type(target) in (models.AutoField, models.BigAutoField):
            kinds = (int,)
    if kinds is None or type(field).pre_save is not models.Field.pre_save:
        return _field_value_prepared(field)
    attname = field.attname
    # The type the field gives its database value (psycopg's `Int4` for an integer column,
    # so that the parameter's type never follows its magnitude): learnt from a sample.
    (kind,) = kinds
    sample = _SAMPLES[kind]
    adapter = type(field.get_db_prep_save(sample, connection))
    if adapter is kind:
        adapter = None
    elif not issubclass(adapter, kind) or adapter(sample) != sample:
        return _field_value_prepared(field)

    def as_is(obj: models.Model) -> object:
        value = getattr(obj, attname)
        if value is None:
            return None
        if type(value) is kind and (kind is not Decimal or value.is_finite()):
            return value if adapter is None else adapter(value)
        return field.get_db_prep_save(field.pre_save(obj, add=True), connection)

    return as_is


def _datetime_value(field: models.DateTimeField) -> Callable[[models.Model], object]:
    """A datetime column's value: `pre_save` as always (it stamps `auto_now` and
    `auto_now_add`), then an aware datetime as it is where the database's preparation
    gives it back unchanged (PostgreSQL); anything else prepared by the field."""
    sample = datetime(2000, 1, 1, tzinfo=UTC)
    if field.get_db_prep_save(sample, connection) is not sample:
        return _field_value_prepared(field)

    def aware_as_is(obj: models.Model) -> object:
        value = field.pre_save(obj, add=True)
        if type(value) is datetime and value.tzinfo is not None:
            return value
        return field.get_db_prep_save(value, connection)

    return aware_as_is


def _field_value_prepared(field: models.Field) -> Callable[[models.Model], object]:
    def prepared(obj: models.Model) -> object:
        return field.get_db_prep_save(field.pre_save(obj, add=True), connection)

    return prepared


_SHAPES: dict[tuple, tuple[str, list]] = {}


def _insert_shape(
    model: type[models.Model], auto: bool, rows: int
) -> tuple[str, list[Callable[[models.Model], object]]]:
    """`INSERT INTO ... VALUES (...), ... [RETURNING pk]` of `rows` new rows of `model`, and
    how to read each placeholder's value from an object; built once per shape."""
    key = (model, auto, rows, connection.vendor)
    shape = _SHAPES.get(key)
    if shape is None:
        quote = connection.ops.quote_name
        meta = model._meta
        fields = [field for field in meta.concrete_fields if not (auto and field is meta.pk)]
        row = f"({placeholders(len(fields))})"
        returning = f" RETURNING {quote(meta.pk.column)}" if auto else ""
        insert = (
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - names from the models
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES {', '.join([row] * rows)}{returning}"
        )
        shape = _SHAPES[key] = (insert, [_field_value(field) for field in fields])
    return shape


def quote_pk(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.pk.column)


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
