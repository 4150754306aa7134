"""Idempotency keys: the first response to a POST is stored and replayed for repeats.

Semantics (see the API contract): scoped per credential (an API key, or a courier's
fulfiller token for /fulfiller); the same key with the
same body replays the stored status and body with `Idempotent-Replayed: true`;
with another body → 422 `idempotency_key_reused`; while the first request is
still running → 409 `idempotency_key_in_use`; 5xx responses are not stored.

How: the record row is inserted and committed first, so that a concurrent
request finds it. The request then runs inside one transaction that holds a
row lock (NOWAIT) on the record and saves the response into it, so the
business writes and the stored response commit together or not at all. If
the process dies, the database drops the lock and rolls everything back, and
a retry runs the request afresh: exactly once, with no stale "in use" state.

Requests that call a payment provider must not hold a transaction open while it
answers (docs/payments.md), so two variants exist:
- `@idempotent(prepare=...)` (checkout): the work before the order is written (stock
  held, the PSP's session opened) runs first, outside the transaction, as a context
  manager whose value the view gets as `prepared`; the order and the stored answer
  then commit together as above. A stored answer replays before anything is prepared.
- `@idempotent(own_transactions=True)` (capture, refund, cancel, returns, a payment
  confirm): the view runs its services' own transactions; the key is held "in use" by
  a session-level advisory lock (PostgreSQL) for the request, and the answer is stored
  after. Exactly-once comes from the services: each money movement carries an
  operation key derived from the request's key, so a retry finds what the first
  attempt did instead of moving the money again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import wraps

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import DomainError, ValidationFailed
from backoffice.sql import execute, lock_rows_of, table
from channels_api.models import ApiKey, IdempotencyRecord
from channels_api.problems import PROBLEM_CONTENT_TYPE
from orders.models import FulfillerAccess

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a NOWAIT lock that is taken


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was used with a different request body."


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status = 409
    title = "A request with this Idempotency-Key is still being processed; retry shortly."


# The record's column that names each kind of credential (the scope of its keys).
SCOPE_COLUMNS: dict[type, str] = {ApiKey: "api_key_id", FulfillerAccess: "fulfiller_access_id"}


@dataclass(frozen=True)
class Scope:
    """Whose keys: the record column and the credential's id."""

    column: str
    owner_id: int

    @classmethod
    def of(cls, credential: object) -> Scope:
        return cls(SCOPE_COLUMNS[type(credential)], credential.pk)


def _fingerprint(request: Request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body,
        status=record.response_status,
        headers={REPLAY_HEADER: "true"},
        content_type=PROBLEM_CONTENT_TYPE if record.response_status >= 400 else None,
    )


def _insert_record(scope: Scope, key: str, fingerprint: str) -> bool:
    """Create the record if absent, committed at once: one statement, no transaction block.
    Returns whether it was new (the key's first request).

    (PostgreSQL and SQLite both accept `ON CONFLICT DO NOTHING ... RETURNING`.)
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(IdempotencyRecord)} "  # noqa: S608 (the column is ours)
            f"({scope.column}, key, request_fingerprint, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [scope.owner_id, key, fingerprint, timezone.now()],
        )
        return cursor.fetchone() is not None


def _locked_record(scope: Scope, key: str, fingerprint: str) -> IdempotencyRecord:
    try:
        # Written out: this runs before every idempotent POST (docs/performance.md).
        records = IdempotencyRecord.objects.raw(
            "SELECT i.id, i.request_fingerprint, i.response_status, i.response_body "  # noqa: S608
            f"FROM {table(IdempotencyRecord)} i WHERE i.{scope.column} = %s AND i.key = %s"
            f"{lock_rows_of('i', nowait=True)}",
            [scope.owner_id, key],
        )
        record = next(iter(records), None)
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise IdempotencyKeyInUse() from error  # the first request holds the lock
    if record is None:  # removed after a 5xx by the request we raced with
        raise IdempotencyKeyInUse()
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record


def _body(response: Response) -> object:
    return json.loads(JSONRenderer().render(response.data) or b"null")


def _store(scope: Scope, key: str, response: Response) -> None:
    """Save the answer into the key's record that has none yet: one written-out statement,
    on every POST (a sold-out answer in a flash sale too)."""
    body = IdempotencyRecord._meta.get_field("response_body")
    execute(
        f"UPDATE {table(IdempotencyRecord)} SET response_status = %s, response_body = %s "  # noqa: S608
        f"WHERE {scope.column} = %s AND key = %s AND response_status IS NULL",
        [
            response.status_code,
            body.get_db_prep_value(_body(response), connection),
            scope.owner_id,
            key,
        ],
    )


def _stored_record(scope: Scope, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """The key's record if it holds an answer already (no lock: a peek before preparing)."""
    record = (
        IdempotencyRecord.objects.filter(**{scope.column: scope.owner_id}, key=key)
        .only("request_fingerprint", "response_status", "response_body")
        .first()
    )
    if record is not None and record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return record if record is not None and record.response_status is not None else None


@contextmanager
def _key_in_use(scope: Scope, key: str) -> Iterator[None]:
    """Hold the key "in use" without a transaction: a session-level advisory lock, taken
    without waiting (409 otherwise) and dropped by the database if the process dies."""
    if connection.vendor != "postgresql":
        yield  # the embedded SQLite of `make run` serves one request at a time
        return
    lock_id = int.from_bytes(
        hashlib.sha256(f"{scope.column}:{scope.owner_id}:{key}".encode()).digest()[:8],
        "big",
        signed=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        if not cursor.fetchone()[0]:
            raise IdempotencyKeyInUse()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


Prepare = Callable[..., AbstractContextManager]


def idempotent(
    view_method: Callable[..., Response] | None = None,
    *,
    prepare: Prepare | None = None,
    own_transactions: bool = False,
) -> Callable[..., Response]:
    """Decorate a POST handler of an APIView to honour `Idempotency-Key`.

    `prepare(view, request, *args, **kwargs)`: a context manager entered before the
    request's transaction, its value passed to the handler as `prepared`, left after the
    transaction ended. `own_transactions`: the handler runs with no transaction around it.
    """
    if view_method is None:
        return lambda method: idempotent(method, prepare=prepare, own_transactions=own_transactions)

    @wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            if prepare is None:
                return view_method(view, request, *args, **kwargs)
            with prepare(view, request, *args, **kwargs) as prepared:
                return view_method(view, request, *args, prepared=prepared, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or "\x00" in key:
            raise ValidationFailed({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} characters, no NUL."]})
        fingerprint = _fingerprint(request)
        scope = Scope.of(request.auth)
        new = _insert_record(scope, key, fingerprint)
        try:
            with ExitStack() as outside:
                if not new and (prepare is not None or own_transactions):
                    stored = _stored_record(scope, key, fingerprint)
                    if stored is not None:
                        raise _Replay(stored)
                if own_transactions:
                    outside.enter_context(_key_in_use(scope, key))
                    response = view_method(view, request, *args, **kwargs)
                    _store(scope, key, response)
                    return response
                if prepare is not None:
                    kwargs["prepared"] = outside.enter_context(
                        prepare(view, request, *args, **kwargs)
                    )
                with transaction.atomic():
                    record = _locked_record(scope, key, fingerprint)
                    if record.response_status is not None:
                        raise _Replay(record)
                    response = view_method(view, request, *args, **kwargs)
                    # The business writes and the stored response commit together.
                    _store(scope, key, response)
            return response
        except _Replay as replay:
            return _replay(replay.record)
        except (IdempotencyKeyInUse, IdempotencyKeyReused):
            raise
        except Exception as exc:
            # Everything the handler wrote was rolled back; record its answer on its own.
            response = view.handle_exception(exc)
            if transaction.get_connection().in_atomic_block:
                # The handler asked to roll back, but our block already did; an enclosing
                # transaction (a test's) must stay usable.
                transaction.set_rollback(False)
            if response.status_code >= 500:
                # Not stored: a retry runs afresh.
                IdempotencyRecord.objects.filter(
                    **{scope.column: scope.owner_id}, key=key, response_status__isnull=True
                ).delete()
            else:
                _store(scope, key, response)
            return response

    wrapper.idempotent = True  # the OpenAPI schema declares the header for this operation
    return wrapper
