"""Which tables each kind of reference data watches: apps register them when they load.

An app whose data some process caches registers its models in its `AppConfig.ready`
(`watch("catalog", "catalog.Product")`); the triggers (`backoffice.versions.triggers`)
are built from this registry, so the kernel names no app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Watched:
    kind: str
    model: str  # "app_label.ModelName"
    ignore: frozenset[str] = frozenset()  # fields whose changes alone are no change


@dataclass(frozen=True)
class WatchedItems:
    """Changes to `model`'s rows counted per item (`ItemVersion`), not for the whole kind.

    `item` is an SQL expression of the item a row belongs to, with `{row}` for the row
    (`NEW` or `OLD`), e.g. `(SELECT product_id FROM catalog_productvariant WHERE id =
    {row}.variant_id)`; `columns` are the row's columns it reads (a row moved to another
    item counts for both).

    PostgreSQL only, for a table whose every change need not count (a hot row's): `changed`
    is the condition on `OLD` and `NEW` under which an update counts (its trigger's `WHEN`,
    instead of "a watched column changed"), and `deleted` the condition on `OLD` under
    which a delete counts when `updates_only` leaves deletes out otherwise. The SQLite
    triggers (`make run`) ignore both: they count every change of a watched column, more
    than these allow, never less.
    """

    kind: str
    model: str
    item: str
    columns: tuple[str, ...]
    ignore: frozenset[str] = frozenset()
    updates_only: bool = False  # inserts and deletes are counted through another table
    changed: str | None = None
    deleted: str | None = None


WATCHED: dict[str, Watched] = {}
WATCHED_ITEMS: dict[str, WatchedItems] = {}


def watch(kind: str, model: str, *, ignore: tuple[str, ...] = ()) -> None:
    """Count every insert, delete and update of `model` as a change of `kind`, except an
    update that sets only fields in `ignore` (e.g. a key's `last_used_at` stamp)."""
    WATCHED[f"{kind}:{model}"] = Watched(kind=kind, model=model, ignore=frozenset(ignore))


def watched() -> list[Watched]:
    return sorted(WATCHED.values(), key=lambda item: (item.model, item.kind))


def watch_items(
    kind: str,
    model: str,
    *,
    item: str,
    columns: tuple[str, ...],
    ignore: tuple[str, ...] = (),
    updates_only: bool = False,
    changed: str | None = None,
    deleted: str | None = None,
) -> None:
    """Count every insert, delete and update of `model` (with `updates_only`, its updates;
    `changed` and `deleted` narrow them on PostgreSQL, see `WatchedItems`) as a change of
    `kind` for the item the row belongs to (`WatchedItems`), not for every item of the
    kind."""
    WATCHED_ITEMS[f"{kind}:{model}"] = WatchedItems(
        kind=kind,
        model=model,
        item=item,
        columns=tuple(columns),
        ignore=frozenset(ignore),
        updates_only=updates_only,
        changed=changed,
        deleted=deleted,
    )


def watched_items() -> list[WatchedItems]:
    return sorted(WATCHED_ITEMS.values(), key=lambda item: (item.model, item.kind))
