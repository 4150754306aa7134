"""The stock version of each product, for the store's cached pages.

A product page shows its variants' units available, so a cached copy must be rebuilt when
their stock changes, and only then: a sale of product A leaves product B's cached pages
valid. A write to a stock row (`inventory.StockLevel`) that can change what a page shows of
it (its variant, warehouse, `on_hand`, or `allocated + reserved_units`: counted, sold,
held, released; a hold's insert or delete changes its row's `reserved_units` in the same
statement), an update of a hold alone (`inventory.Reservation`: its expiry moved) and the
delete of a hold at or near its expiry (`HOLD_EXPIRY_MARGIN`) add to the counter of the
row's product in the writer's own transaction, by a row-level trigger (`backoffice.versions`,
`ItemVersion`): one `UPDATE` of the writing session's own counter row, which no other
session writes, so no checkout ever waits on it, also under a flash sale's stock lock. A
checkout's hold turned into its allocation (the same units, allocated instead of held) and
a row's `updated_at` alone do not count. A checkout's one-statement hold counts its
products itself, before it locks any stock row, and the triggers skip its rows
(`stock_versions_counted_first_sql`, `COUNTED_SETTING`): under the hot row's lock run its
writes and the commit, no trigger. Warehouses and their channel routes stay counted
for the whole catalog (the "stock" kind: rare, staff edits).

- A product page's key carries its product's stock version, read in the request's one
  versions statement (`product_stock_version_want`, before anything is read);
- a list page holds the stock versions of its products as they were read before their
  availability was (`products_stock_versions`), and is served while they are the same:
  one statement (`stock_versions_current`).
"""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.db import connection

from backoffice.sql import table
from backoffice.versions.current import item_version_sql, item_versions, versions_also
from backoffice.versions.models import ItemVersion
from backoffice.versions.registry import watch_items
from backoffice.versions.triggers import WEIGHT_POSTGRESQL
from catalog.models import Product, ProductVariant

KIND = "stock"


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


# The name of a product page's stock version in the request's versions.
PRODUCT_PAGE = "stock:product-page"
# A hold deleted this close to its expiry counts as a change by itself (below): more than
# a statement's end takes to commit, and than the database's and the app servers' clocks
# differ by. Far below the shortest hold of a checkout (5 minutes) or a cart.
HOLD_EXPIRY_MARGIN = timedelta(seconds=60)
# A statement that counts the stock versions of the products it writes by itself, before
# it locks any stock row (`stock_versions_counted_first_sql`: a checkout's hold), sets this
# transaction-local setting to its own `statement_timestamp()`; the stock triggers skip
# that statement's rows (their `WHEN`), so nothing but the stock row's UPDATE runs under
# its lock. Any other statement, the next one of the same transaction included, has
# another timestamp: its writes count as always. (Statements sent in one simple-protocol
# message, or run inside one function, share a `statement_timestamp()`: the app sends the
# hold alone; `backoffice.versions`' own once-per-statement mark relies on the same.)
# Chosen over a trigger-free path for the hold: the triggers stay the one guard of every
# other writer (a shell, a migration, the admin), and the skip is this one statement's.
COUNTED_SETTING = "stock_versions.counted"
_NOT_COUNTED = (
    f"current_setting('{COUNTED_SETTING}', true) IS DISTINCT FROM statement_timestamp()::text"
)


def stock_versions_watch() -> None:
    """Count the stock rows' changes per product (called by the catalog's AppConfig)."""
    level = apps.get_model("inventory", "StockLevel")
    column = {field.name: quote(field.column) for field in level._meta.concrete_fields}
    # What a page shows of a stock row (`inventory.available`): on_hand - allocated -
    # the active holds, in its warehouse, for its variant. A hold written or deleted moves
    # `reserved_units` by its units in the same statement, so a change of `allocated +
    # reserved_units` is a change of what is held or allocated; a hold turned into an
    # allocation by one statement (`allocated` +n, `reserved_units` -n) leaves both and
    # what the page shows as they were, and `updated_at` is shown nowhere.
    shown = (
        ", ".join(f"{{row}}.{column[name]}" for name in ("variant", "warehouse", "on_hand"))
        + f", {{row}}.{column['allocated']} + {{row}}.{column['reserved_units']}"
    )
    watch_items(
        KIND,
        "inventory.StockLevel",
        item=f"(SELECT product_id FROM {table(ProductVariant)} WHERE id = {{row}}.variant_id)",  # noqa: S608
        columns=("variant_id",),
        changed=(
            f"({shown.format(row='OLD')}) IS DISTINCT FROM ({shown.format(row='NEW')}) "
            f"AND {_NOT_COUNTED}"
        ),
    )
    # A hold's insert or delete changes its stock row's `reserved_units` in the same
    # statement (counted above); an update of the hold alone (its expiry moved, e.g. an
    # allotment ended early) changes what is available too, or when a page stops holding.
    # A delete counts by itself when the hold had expired, or expires within
    # HOLD_EXPIRY_MARGIN: its units were free, or may have been read as free, so its
    # allocation by the same statement (which leaves the stock row's sum as it was)
    # changes what a page shows, and so does a purge of it with a new hold of as many
    # units on the row (which leaves `reserved_units` as it was).
    watch_items(
        KIND,
        "inventory.Reservation",
        item=(
            f"(SELECT v.product_id FROM {quote(level._meta.db_table)} s "  # noqa: S608
            f"JOIN {table(ProductVariant)} v ON v.id = s.variant_id "
            "WHERE s.id = {row}.stock_level_id)"
        ),
        columns=("stock_level_id",),
        updates_only=True,
        deleted=(
            "OLD.expires_at <= clock_timestamp() + "
            f"make_interval(secs => {HOLD_EXPIRY_MARGIN.total_seconds():.0f}) "
            f"AND {_NOT_COUNTED}"
        ),
    )


def stock_versions_counted_first_sql(name: str, variants: str) -> str:
    """SQL (PostgreSQL): two `WITH` members: `<name>_rows` adds to this session's stock
    version of the products of `variants` (a subquery of variant ids), and `name`
    `SELECT`s one boolean `ready` (true) once it has, and marks the statement as counted
    (`COUNTED_SETTING`).

    For a statement that writes only stock rows and holds of those variants (a
    checkout's one-statement hold): make its locking part depend on `name` (a filter
    `(SELECT ready FROM <name>)` on the rows it locks) so that the count is written
    before any stock row is locked; the triggers then skip its rows, and the lock is held
    for the UPDATE and the commit alone. Counted whether or not the statement then
    writes anything (a refused hold makes the products' cached pages be rebuilt once
    more: never a stale one). The counter row is this session's own, as the trigger's:
    no other session waits on it.
    """
    counters = table(ItemVersion)
    return (
        f"{name}_rows AS (INSERT INTO {counters} (name, item, slot, value) "  # noqa: S608
        f"SELECT '{KIND}', v.product_id, pg_backend_pid(), {WEIGHT_POSTGRESQL} FROM "
        f"(SELECT DISTINCT product_id FROM {table(ProductVariant)} WHERE id IN ({variants})) v "
        f"ON CONFLICT (name, item, slot) DO UPDATE SET value = {counters}.value + "
        "excluded.value RETURNING 1), "
        f"{name} AS (SELECT set_config('{COUNTED_SETTING}', statement_timestamp()::text, true) "
        f"IS NOT NULL AND (SELECT COUNT(*) FROM {name}_rows) >= 0 AS ready)"
    )


def product_stock_version_want(slug: str) -> None:
    """Read the stock version of the product of this slug with the request's versions (call
    before they are read: first thing in the view); `versions_of(PRODUCT_PAGE)` gives it."""
    item = f"(SELECT id FROM {table(Product)} WHERE slug = %s)"  # noqa: S608
    versions_also(PRODUCT_PAGE, item_version_sql(KIND, item), [slug])


def products_stock_versions(product_ids: list[int]) -> dict[int, int]:
    """The stock versions of these products now (one statement); read them before their
    availability, so what is built from it is never older than these say."""
    return item_versions(KIND, product_ids)


def stock_versions_current(stamp: dict[int, int]) -> bool:
    """Whether these products' stock versions are still `stamp`'s (one statement)."""
    return not stamp or products_stock_versions(list(stamp)) == stamp
