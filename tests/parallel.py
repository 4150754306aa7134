"""Run callables at the same moment on real threads (each with its own DB connection)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import QuerySet


def run_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Call work(i) for i in range(count) from `count` threads released together.

    Exceptions are returned in place of results, so the caller asserts on every outcome.
    """
    barrier = threading.Barrier(count)

    def call(index: int) -> Any:
        try:
            barrier.wait(timeout=30)
            return work(index)
        except Exception as error:  # returned, not raised: every outcome is asserted
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def http_json(
    method: str, url: str, key: str, body: Any = None, headers: dict | None = None
) -> tuple[int, dict, dict]:
    """A real HTTP request (for live_server tests); returns (status, json body, headers)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


@contextmanager
def rows_locked(queryset: QuerySet, timeout: float = 30) -> Iterator[None]:
    """Hold `SELECT ... FOR UPDATE` on the queryset's rows from another connection (a
    request still running) for as long as the block runs."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(queryset.select_for_update())
                locked.set()
                release.wait(timeout)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout), "the rows could not be locked"
        yield
    finally:
        release.set()
        holder.join(timeout)


def while_held(hold: Callable[[], Any], other: Callable[[], Any], timeout: float = 30) -> Any:
    """Run `hold` in a transaction on this connection and keep it open until `other`, started
    on a thread of its own (its own connection), waits on a lock `hold` took; then commit
    and return what `other` returned, or raise what it raised.

    The interleaving is exact, not timed: "`other` read, then waited" is the moment a
    check-then-write or a read-then-save goes wrong.
    """
    started = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        started.wait(timeout)
        try:
            outcome["value"] = other()
        except Exception as error:  # raised again on the caller's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    waited = False
    with transaction.atomic():
        hold()
        started.set()
        deadline = time.monotonic() + timeout
        while not waited and thread.is_alive() and time.monotonic() < deadline:
            # pg_locks (pg_stat_activity is a snapshot), and only waits on this connection's
            # locks: other tests (other workers) wait on theirs in the same cluster.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                )
                waited = bool(cursor.fetchone()[0])
            time.sleep(0.02)
    thread.join(timeout)
    assert waited, f"the other connection never waited on the held locks: {outcome}"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def while_open(hold: Callable[[], Any], other: Callable[[], Any], timeout: float = 10) -> Any:
    """Run `hold` in a transaction on this connection and, while it is still open, `other` to
    its end on a thread of its own (its own connection, `lock_timeout` = `timeout`); then
    commit and return what `other` returned, or raise what it raised.

    The opposite of `while_held`: `other` must not wait for what `hold` locked. A lock it
    would wait for fails it with a lock timeout (psycopg's LockNotAvailable), including
    the key-share lock a foreign key's deferred check takes at commit.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{int(timeout * 1000)}ms'")
            outcome["value"] = other()
        except Exception as error:  # raised again on the caller's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    with transaction.atomic():
        hold()
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout * 3)
        assert not thread.is_alive(), "the other connection is still waiting"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
