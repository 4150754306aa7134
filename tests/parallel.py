"""Run callables at the same moment on real threads (each with its own DB connection)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
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
