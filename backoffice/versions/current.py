"""The versions now, read once per request, and the per-process caches they keep honest.

`data_versions()` reads every kind's version in one statement; inside a request
(`data_versions_middleware`) the answer is kept for the rest of the request, so a request
pays that statement once whatever it looks up. `VersionedCache` holds values loaded from
the database, each stamped with the versions of the kinds it depends on: a lookup whose
stamp differs from the versions now loads again. A value is loaded after the versions
were read, so it is never older than its stamp says; it may be newer (a change committed
in between), and then the next request reloads it. Nothing is ever served stale: a
request that starts after a change committed reads a version no cached value carries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from asgiref.sync import iscoroutinefunction
from django.db import connection
from django.utils.decorators import sync_and_async_middleware

from backoffice.sql import placeholders, table
from backoffice.versions.models import DataVersion, ItemVersion

T = TypeVar("T")
_request_versions: ContextVar[dict[str, int] | None] = ContextVar("data_versions", default=None)
# Versions a request asked for before its versions were read (`versions_also`).
_request_also: ContextVar[list[tuple[str, str, list]] | None] = ContextVar(
    "data_versions_also", default=None
)
_MISSING = object()


def data_versions_read(also: Sequence[tuple[str, str, list]] = ()) -> dict[str, int]:
    """Every kind's version now: one statement (a kind never changed has version 0), with
    the versions `also` names (name, a scalar SQL expression, its parameters) in it."""
    sql = f"SELECT name, SUM(value) FROM {table(DataVersion)} GROUP BY name"  # noqa: S608
    params: list = []
    for name, expression, expression_params in also:
        sql += f" UNION ALL SELECT %s, {expression}"
        params += [name, *expression_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        return {name: int(total or 0) for name, total in cursor.fetchall()}


def data_versions() -> dict[str, int]:
    """The versions for this request (read at its first use), or read now outside one."""
    memo = _request_versions.get()
    if memo is None:
        return data_versions_read()
    if not memo:
        also = _request_also.get() or []
        memo.update(data_versions_read(also))
        for name, _, _ in also:
            memo.setdefault(name, 0)
        memo.setdefault("", 0)  # read: no counter yet is a version too
    return memo


def versions_also(name: str, expression: str, params: list) -> None:
    """Have this request's versions statement read one more version, `name`: the value of
    the scalar SQL `expression` (e.g. one product's stock version, `item_version_sql`),
    in the same statement and snapshot; `versions_of(name)` gives it. Asked after the
    versions were read (or outside a request), it is read now, in a statement of its own."""
    memo = _request_versions.get()
    if memo is None:
        return
    if memo:
        memo.update(data_versions_read_only([(name, expression, params)]))
        return
    also = _request_also.get()
    if also is not None:
        also.append((name, expression, params))


def data_versions_read_only(also: list[tuple[str, str, list]]) -> dict[str, int]:
    """Only the versions `also` names, in one statement."""
    sql = " UNION ALL ".join(f"SELECT %s, {expression}" for _, expression, _ in also)
    params = [value for name, _, expression_params in also for value in (name, *expression_params)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {name: int(total or 0) for name, total in cursor.fetchall()}


def item_version_sql(kind: str, item: str) -> str:
    """A scalar SQL expression: the version of `kind` for the item that the SQL `item` (an
    expression, e.g. a subquery) names; 0 for an item never changed."""
    counters = table(ItemVersion)
    return (
        f"(SELECT COALESCE(SUM(v.value), 0) FROM {counters} v "  # noqa: S608
        f"WHERE v.name = '{kind}' AND v.item = {item})"
    )


def item_versions(kind: str, items: list[int]) -> dict[int, int]:
    """The versions of `kind` for these items now, in one statement (0: never changed)."""
    items = sorted(set(items))
    if not items:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item, SUM(value) FROM {table(ItemVersion)} "  # noqa: S608
            f"WHERE name = %s AND item IN ({placeholders(len(items))}) GROUP BY item",
            [kind, *items],
        )
        found = {int(item): int(total) for item, total in cursor.fetchall()}
    return {item: found.get(item, 0) for item in items}


def versions_of(*kinds: str) -> tuple[int, ...]:
    """The versions of `kinds` for this request, in that order."""
    versions = data_versions()
    return tuple(versions.get(kind, 0) for kind in kinds)


@contextmanager
def request_scope() -> Iterator[None]:
    """Keep the versions read during the block for the rest of it (one request)."""
    token, also = _request_versions.set({}), _request_also.set([])
    try:
        yield
    finally:
        _request_versions.reset(token)
        _request_also.reset(also)


@sync_and_async_middleware
def data_versions_middleware(get_response: Callable) -> Callable:
    """Each request reads the versions at most once (at its first cached lookup)."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            with request_scope():
                return await get_response(request)

    else:

        def middleware(request):
            with request_scope():
                return get_response(request)

    return middleware


class VersionedCache(Generic[T]):
    """Per process: values by key, each valid while the versions of `kinds` stand still.

    `get(key, load)` returns the cached value, or `load()`'s (cached unless None).
    Bounded: past `max_entries` the cache starts afresh.
    """

    def __init__(self, *kinds: str, max_entries: int = 10_000) -> None:
        self.kinds = kinds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[tuple[int, ...], T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T | None]) -> T | None:
        stamp = versions_of(*self.kinds)
        entry = self._entries.get(key, _MISSING)
        if entry is not _MISSING and entry[0] == stamp:
            return entry[1]
        value = load()
        if value is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries = {}
                self._entries[key] = (stamp, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


def data_versions_compact() -> int:
    """Fold the counters of ended database sessions into slot 0, keeping every sum.

    Each session that ever wrote watched data has a row per kind; sessions end (a
    connection's `CONN_MAX_AGE`), so without this the rows would grow. A session whose
    pid is reused meanwhile waits on the row being folded and then starts a new one.
    Returns the rows folded. PostgreSQL only (SQLite counts in slot 0 already).
    """
    if connection.vendor != "postgresql":
        return 0
    counters, items = table(DataVersion), table(ItemVersion)
    ended = "slot <> 0 AND slot NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {counters} WHERE {ended} RETURNING name, value), "  # noqa: S608
            f"folded AS (INSERT INTO {counters} (name, slot, value) "
            "SELECT name, 0, SUM(value) FROM gone GROUP BY name "
            f"ON CONFLICT (name, slot) DO UPDATE SET value = {counters}.value + excluded.value), "
            f"gone_items AS (DELETE FROM {items} WHERE {ended} RETURNING name, item, value), "
            f"folded_items AS (INSERT INTO {items} (name, item, slot, value) "
            "SELECT name, item, 0, SUM(value) FROM gone_items GROUP BY name, item "
            f"ON CONFLICT (name, item, slot) DO UPDATE SET value = {items}.value + excluded.value) "
            "SELECT (SELECT COUNT(*) FROM gone) + (SELECT COUNT(*) FROM gone_items)"
        )
        return cursor.fetchone()[0]
