"""The two statements that lock a hot stock row, as PostgreSQL functions (PL/pgSQL).

A paid checkout locks its stock rows twice, each time for one autocommitted call: its
hold before the PSP is asked (`inventory_stock_hold`), and the hold turned into its
allocation once paid (`inventory_stock_allocate_hold`). Each was one large `WITH` before
(docs/performance.md, round eight): a locking CTE `FOR UPDATE`, then the decision, then
the writes, all while the row was held, and planned anew on every call in simple
protocol (1.5-8.8 ms for the hold). As functions:

- their statements' plans are cached per connection (PL/pgSQL prepares them once),
  whatever protocol the caller speaks;
- the rows a call inserts (the hold, the allocations) are written *before* any stock row
  is locked: nobody else sees them before the call commits, so the counter and the rows
  still change together for every reader, but the insert is not done under the lock;
- each stock row is then touched by one conditional `UPDATE` (`... WHERE id = X AND the
  units fit`), in ascending id (the lock order, `inventory.locks`). A call that waited for
  the row re-checks that condition on the row as its previous holder committed it, which
  is all counter arithmetic needs: no `SELECT ... FOR UPDATE` first, no re-run of a
  locking CTE. Under the lock: that one `UPDATE`, its versions trigger, the commit.

The hold's `UPDATE` counts every hold row on the level, expired or not (`reserved_units`),
so it may find a level short that its expired holds would make whole. Only then does it
lock the row, purge the level's expired holds (`SKIP LOCKED`, as the purge job does) and
try once more; the rest of the time expired holds are left to the purge job. A call that
finds a level short after all gives back what it did on the levels before (their rows are
its own by then) and deletes its inserted rows: all levels or none, with no exception
raised (a caller's transaction, such as a till sale's, stays usable).

Installed (replaced) by migration 0006 and after every `migrate` (the app's
post_migrate), since the tests build their database without migrations. PostgreSQL only:
SQLite takes the services' other paths.
"""

from __future__ import annotations

from django.db import connections

from backoffice.sql import table
from inventory.available import reserved_sql
from inventory.hold_active import hold_active_sql
from inventory.models import Allocation, Reservation, StockLevel, Warehouse, WarehouseChannel

HOLD = "inventory_stock_hold"
ALLOCATE_HOLD = "inventory_stock_allocate_hold"
NAMES = (HOLD, ALLOCATE_HOLD)


def _with_now(sql_and_params: tuple[str, list]) -> str:
    """A rule's SQL form (`inventory.available`, `inventory.hold_active`) with its one
    parameter, the moment, bound to the function's argument `p_now`."""
    sql, params = sql_and_params
    if len(params) != 1 or sql.count("%s") != 1:
        raise ValueError(f"expected the moment as the only parameter: {sql}")
    return sql.replace("%s", "p_now")


def hold_function_sql() -> str:
    level, reservation = table(StockLevel), table(Reservation)
    wc, warehouse = table(WarehouseChannel), table(Warehouse)
    # The level's active held units in the call's snapshot: its counter less its expired
    # holds still present (the rule "available", inventory.available).
    active = _with_now(reserved_sql("s"))
    expired = _with_now(hold_active_sql("r"))
    return f"""
CREATE OR REPLACE FUNCTION {HOLD}(
    p_channel bigint, p_warehouse bigint, p_variants bigint[], p_quantities integer[],
    p_holder text, p_now timestamptz, p_expires timestamptz)
RETURNS TABLE (o_level bigint, o_variant bigint, o_warehouse bigint, o_quantity integer,
               o_free integer, o_hold bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_levels bigint[]; v_variants bigint[]; v_warehouses bigint[]; v_quantities integer[];
    v_expired integer[]; v_holds bigint[]; v_free integer[];
    v_n integer; v_i integer; v_j integer; v_left integer; v_purged integer;
BEGIN
    -- Each line from the first warehouse in the channel's order that has all its units,
    -- as this snapshot says (placements_plan's choice for a holder without holds), and
    -- its hold inserted at once, before any stock row is locked (unseen until the commit).
    WITH candidate AS (
        -- The lines' rows by `= ANY` and each one's quantity by its place in the array (the
        -- variants are distinct): a plan cached for any number of lines still starts from
        -- the variants' index, where a join to `unnest` would be guessed at 100 rows.
        SELECT DISTINCT ON (s.variant_id) s.id, s.variant_id, s.warehouse_id,
               p_quantities[array_position(p_variants, s.variant_id)] AS quantity,
               (s.reserved_units - {active})::integer AS expired
          FROM {level} s
          JOIN {wc} wc ON wc.warehouse_id = s.warehouse_id
          JOIN {warehouse} w ON w.id = s.warehouse_id
         WHERE s.variant_id = ANY (p_variants) AND wc.channel_id = p_channel AND w.active
           AND (p_warehouse IS NULL OR s.warehouse_id = p_warehouse)
           AND s.on_hand - s.allocated - {active}
               >= p_quantities[array_position(p_variants, s.variant_id)]
         ORDER BY s.variant_id, wc.priority, s.warehouse_id),
    written AS (
        INSERT INTO {reservation} (stock_level_id, holder, quantity, expires_at, created_at)
        SELECT c.id, p_holder, c.quantity, p_expires, p_now FROM candidate c
        RETURNING id, stock_level_id)
    SELECT array_agg(c.id ORDER BY c.id), array_agg(c.variant_id ORDER BY c.id),
           array_agg(c.warehouse_id ORDER BY c.id), array_agg(c.quantity ORDER BY c.id),
           array_agg(c.expired ORDER BY c.id), array_agg(h.id ORDER BY c.id)
      INTO v_levels, v_variants, v_warehouses, v_quantities, v_expired, v_holds
      FROM candidate c JOIN written h ON h.stock_level_id = c.id;
    v_n := coalesce(array_length(v_levels, 1), 0);
    IF v_n < array_length(p_variants, 1) THEN
        -- A line has its units in no single warehouse: the full path decides.
        DELETE FROM {reservation} WHERE id = ANY (v_holds);
        RETURN;
    END IF;
    v_free := array_fill(0, ARRAY[v_n]);
    FOR v_i IN 1 .. v_n LOOP
        -- The lock, in id order: one conditional UPDATE, re-checked on the latest row.
        UPDATE {level} s SET reserved_units = s.reserved_units + v_quantities[v_i]
         WHERE s.id = v_levels[v_i]
           AND s.on_hand - s.allocated - s.reserved_units >= v_quantities[v_i]
        RETURNING s.on_hand - s.allocated - s.reserved_units + v_quantities[v_i] INTO v_left;
        IF NOT FOUND THEN
            -- Short as the counter says: the level's expired holds may make it whole.
            PERFORM 1 FROM {level} s WHERE s.id = v_levels[v_i] FOR UPDATE;
            WITH gone AS (
                DELETE FROM {reservation} WHERE id IN (
                    SELECT r.id FROM {reservation} r
                     WHERE r.stock_level_id = v_levels[v_i] AND NOT ({expired})
                       FOR UPDATE SKIP LOCKED)
                RETURNING quantity)
            SELECT coalesce(sum(gone.quantity), 0)::integer INTO v_purged FROM gone;
            UPDATE {level} s SET reserved_units = s.reserved_units - v_purged
                   + v_quantities[v_i]
             WHERE s.id = v_levels[v_i]
               AND s.on_hand - s.allocated - (s.reserved_units - v_purged) >= v_quantities[v_i]
            RETURNING s.on_hand - s.allocated - s.reserved_units + v_quantities[v_i]
              INTO v_left;
            IF NOT FOUND THEN
                IF v_purged > 0 THEN
                    UPDATE {level} s SET reserved_units = s.reserved_units - v_purged
                     WHERE s.id = v_levels[v_i];
                END IF;
                -- All levels or none: the earlier ones (locked by this call) given back.
                FOR v_j IN 1 .. v_i - 1 LOOP
                    UPDATE {level} s SET reserved_units = s.reserved_units - v_quantities[v_j]
                     WHERE s.id = v_levels[v_j];
                END LOOP;
                DELETE FROM {reservation} WHERE id = ANY (v_holds);
                RETURN;
            END IF;
            v_expired[v_i] := 0;
        END IF;
        -- What the level could promise before this hold (its expired holds not counted).
        v_free[v_i] := v_left + v_expired[v_i];
    END LOOP;
    RETURN QUERY SELECT u.level_id, u.variant_id, u.warehouse_id, u.quantity, u.free, u.hold
      FROM unnest(v_levels, v_variants, v_warehouses, v_quantities, v_free, v_holds)
        AS u (level_id, variant_id, warehouse_id, quantity, free, hold);
END;
$fn$
"""  # noqa: S608 - table names and the rules' SQL only


def allocate_hold_function_sql() -> str:
    level, reservation, allocation = table(StockLevel), table(Reservation), table(Allocation)
    return f"""
CREATE OR REPLACE FUNCTION {ALLOCATE_HOLD}(
    p_hold text, p_holder text, p_variants bigint[], p_quantities bigint[],
    p_warehouse bigint, p_now timestamptz)
RETURNS TABLE (o_ok boolean, o_held integer, o_raised integer)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_levels bigint[]; v_quantities integer[]; v_allocations bigint[]; v_ok boolean;
    v_n integer; v_i integer; v_j integer;
BEGIN
    -- The hold's rows, whatever they are (a hold is used once), with their levels' variant
    -- and warehouse (which never change: read without the rows' locks). Usable: every
    -- hold active, its units per SKU (in that warehouse) exactly the lines'. Then the
    -- allocations of a usable hold, before any stock row is locked (unseen until the
    -- commit). One statement.
    WITH gone AS (
        DELETE FROM {reservation} r USING {level} s
         WHERE r.holder = p_hold AND s.id = r.stock_level_id
        RETURNING r.stock_level_id, r.quantity, r.expires_at > p_now AS active,
                  s.variant_id, s.warehouse_id),
    held AS (
        SELECT gone.stock_level_id, sum(gone.quantity)::integer AS quantity,
               bool_and(gone.active) AS active, min(gone.variant_id) AS variant_id,
               min(gone.warehouse_id) AS warehouse_id
          FROM gone GROUP BY gone.stock_level_id),
    usable AS (
        SELECT coalesce(bool_and(held.active), false) AND NOT EXISTS (
            SELECT 1 FROM (
                SELECT h.variant_id, sum(h.quantity) AS quantity FROM held h
                 WHERE p_warehouse IS NULL OR h.warehouse_id = p_warehouse
                 GROUP BY h.variant_id) p
            FULL JOIN unnest(p_variants, p_quantities) AS w (variant_id, quantity)
              ON w.variant_id = p.variant_id
             WHERE p.quantity IS DISTINCT FROM w.quantity) AS ok
          FROM held),
    written AS (
        INSERT INTO {allocation} (stock_level_id, holder, quantity, created_at)
        SELECT h.stock_level_id, p_holder, h.quantity, p_now FROM held h
         WHERE (SELECT ok FROM usable)
        RETURNING id)
    SELECT (SELECT array_agg(h.stock_level_id ORDER BY h.stock_level_id) FROM held h),
           (SELECT array_agg(h.quantity ORDER BY h.stock_level_id) FROM held h),
           (SELECT ok FROM usable), (SELECT array_agg(written.id) FROM written)
      INTO v_levels, v_quantities, v_ok, v_allocations;
    v_n := coalesce(array_length(v_levels, 1), 0);
    IF v_n = 0 THEN
        RETURN QUERY SELECT false, 0, 0;
        RETURN;
    END IF;
    IF NOT v_ok THEN
        -- Not this hold's lines: only its units come off the counters, in id order.
        FOR v_i IN 1 .. v_n LOOP
            UPDATE {level} s SET reserved_units = s.reserved_units - v_quantities[v_i]
             WHERE s.id = v_levels[v_i];
        END LOOP;
        RETURN QUERY SELECT false, v_n, 0;
        RETURN;
    END IF;
    FOR v_i IN 1 .. v_n LOOP
        -- The lock, in id order: one conditional UPDATE, re-checked on the latest row.
        UPDATE {level} s SET allocated = s.allocated + v_quantities[v_i],
               reserved_units = s.reserved_units - v_quantities[v_i], updated_at = p_now
         WHERE s.id = v_levels[v_i] AND s.allocated + v_quantities[v_i] <= s.on_hand;
        IF NOT FOUND THEN
            -- Counted down below the hold meanwhile: nothing allocated, the hold gone.
            FOR v_j IN 1 .. v_n LOOP
                IF v_j < v_i THEN
                    UPDATE {level} s SET allocated = s.allocated - v_quantities[v_j]
                     WHERE s.id = v_levels[v_j];
                ELSE
                    UPDATE {level} s SET reserved_units = s.reserved_units - v_quantities[v_j]
                     WHERE s.id = v_levels[v_j];
                END IF;
            END LOOP;
            DELETE FROM {allocation} WHERE id = ANY (v_allocations);
            RETURN QUERY SELECT true, v_n, 0;
            RETURN;
        END IF;
    END LOOP;
    RETURN QUERY SELECT true, v_n, v_n;
END;
$fn$
"""  # noqa: S608 - table names and the rules' SQL only


def stock_functions_install(using: str = "default", **kwargs) -> None:
    """Create (or replace) the functions in database `using` (PostgreSQL; else nothing)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    tables = set(connection.introspection.table_names())
    needed = {
        model._meta.db_table for model in (StockLevel, Reservation, Allocation, WarehouseChannel)
    }
    if not needed <= tables:
        return  # migrated only part of the way
    with connection.cursor() as cursor:
        cursor.execute(hold_function_sql())
        cursor.execute(allocate_hold_function_sql())
