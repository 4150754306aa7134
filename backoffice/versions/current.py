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
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from asgiref.sync import iscoroutinefunction
from django.db import connection
from django.utils.decorators import sync_and_async_middleware

from backoffice.sql import table
from backoffice.versions.models import DataVersion

T = TypeVar("T")
_request_versions: ContextVar[dict[str, int] | None] = ContextVar("data_versions", default=None)
_MISSING = object()


def data_versions_read() -> dict[str, int]:
    """Every kind's version now: one statement (a kind never changed has version 0)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, SUM(value) FROM {table(DataVersion)} GROUP BY name"  # noqa: S608
        )
        return {name: int(total) for name, total in cursor.fetchall()}


def data_versions() -> dict[str, int]:
    """The versions for this request (read at its first use), or read now outside one."""
    memo = _request_versions.get()
    if memo is None:
        return data_versions_read()
    if not memo:
        memo.update(data_versions_read())
        memo.setdefault("", 0)  # read: no counter yet is a version too
    return memo


def versions_of(*kinds: str) -> tuple[int, ...]:
    """The versions of `kinds` for this request, in that order."""
    versions = data_versions()
    return tuple(versions.get(kind, 0) for kind in kinds)


@contextmanager
def request_scope() -> Iterator[None]:
    """Keep the versions read during the block for the rest of it (one request)."""
    token = _request_versions.set({})
    try:
        yield
    finally:
        _request_versions.reset(token)


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
    counters = table(DataVersion)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {counters} WHERE slot <> 0 AND slot NOT IN "  # noqa: S608
            "(SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) RETURNING name, value), "
            f"folded AS (INSERT INTO {counters} (name, slot, value) "
            "SELECT name, 0, SUM(value) FROM gone GROUP BY name "
            f"ON CONFLICT (name, slot) DO UPDATE SET value = {counters}.value + excluded.value) "
            "SELECT COUNT(*) FROM gone"
        )
        return cursor.fetchone()[0]
