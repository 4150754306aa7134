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

Two variants, for requests whose services own their transactions:
- `@idempotent(in_service=True)` (checkout, cart complete, a cart's line): the service
  owns its transactions (`backoffice.transactions.CommitPartner`). A key seen before is
  looked up first (one read, no lock), so a stored answer replays before anything is held
  or asked. The record is not committed ahead: the first statement of the service's
  transaction claims the key (`_record_claim`: a transaction-level advisory lock taken
  without waiting, 409 while a twin's transaction holds it, and the record inserted under
  it) and the answer is stored in the service's last write, before the stock is locked,
  so the record, the business writes and the answer are one commit. A checkout with a
  payment holds its stock and asks the PSP before that transaction (docs/payments.md); a
  twin that runs meanwhile finds the key claimed (409) or answered (a replay) and gives
  its hold and session back. A refusal (4xx) is stored on its own after the rollback, by
  one upsert; a 5xx leaves no record.
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
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import DomainError, ValidationFailed
from backoffice.sql import execute, fetch, lock_rows_of, table
from channels_api.models import ApiKey, IdempotencyRecord
from channels_api.problems import PROBLEM_CONTENT_TYPE
from channels_api.renderers import json_render, prerendered_set
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


def _lock_id(scope: Scope, key: str) -> int:
    """The key's advisory lock (PostgreSQL's 64-bit lock space)."""
    return int.from_bytes(
        hashlib.sha256(f"{scope.column}:{scope.owner_id}:{key}".encode()).digest()[:8],
        "big",
        signed=True,
    )


def _record_claim(scope: Scope, key: str, fingerprint: str) -> None:
    """First in the service's transaction: claim the key for this request, in one statement.

    On PostgreSQL a transaction-level advisory lock on the key, taken without waiting
    (`IdempotencyKeyInUse` while a twin's transaction holds it), and the record inserted
    under it, uncommitted: it commits with the service's writes and its answer, or rolls
    back with them. A record there already (committed by a request that finished, or by
    one that died before storing its answer) is locked and read as `_record_lock` does:
    a stored answer replays, another body is 422, none lets this request run.
    """
    if connection.vendor == "postgresql":
        rows = fetch(
            "WITH claim AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(%s) AS held), "  # noqa: S608 (the column is ours)
            f"new AS (INSERT INTO {table(IdempotencyRecord)} "
            f"({scope.column}, key, request_fingerprint, created_at) "
            "SELECT CAST(%s AS bigint), CAST(%s AS varchar), CAST(%s AS varchar), "
            "CAST(%s AS timestamptz) FROM claim WHERE held "
            "ON CONFLICT DO NOTHING RETURNING id) "
            "SELECT held, EXISTS (SELECT 1 FROM new) FROM claim",
            [_lock_id(scope, key), scope.owner_id, key, fingerprint, timezone.now()],
        )
        held, inserted = rows[0]
        if not held:
            raise IdempotencyKeyInUse()
    else:  # SQLite (`make run`): one writer at a time, the transaction takes the lock
        inserted = _insert_record(scope, key, fingerprint)
    if not inserted:
        _record_lock(scope, key, fingerprint)


def _record_lock(scope: Scope, key: str, fingerprint: str) -> None:
    """Lock the key's record (`FOR UPDATE NOWAIT`: 409 while its first request holds it);
    a record that holds an answer already raises `_Replay` with it.

    Written out, reading two columns into a tuple: this runs in every idempotent POST
    (docs/performance.md); the stored answer is read only to replay it."""
    try:
        rows = fetch(
            "SELECT i.id, i.request_fingerprint, i.response_status "  # noqa: S608
            f"FROM {table(IdempotencyRecord)} i WHERE i.{scope.column} = %s AND i.key = %s"
            f"{lock_rows_of('i', nowait=True)}",
            [scope.owner_id, key],
        )
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise IdempotencyKeyInUse() from error  # the first request holds the lock
    if not rows:  # removed after a 5xx by the request we raced with
        raise IdempotencyKeyInUse()
    record_id, stored_fingerprint, status = rows[0]
    if stored_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if status is not None:
        raise _Replay(
            IdempotencyRecord.objects.only("response_status", "response_body").get(pk=record_id)
        )


def _answer_body(response: Response) -> tuple[str, object]:
    """The stored body's SQL value and its parameter: the JSON the client gets, rendered once
    here and sent as it is (`channels_api.renderers`)."""
    if response.data is None:  # no body (a 204): stored as the field stores None
        field = IdempotencyRecord._meta.get_field("response_body")
        return "%s", field.get_db_prep_value(None, connection)
    content = json_render(response.data)
    prerendered_set(response, content)
    # The JSON text itself: PostgreSQL parses it into the jsonb column; SQLite keeps it.
    return ("CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"), content.decode()


def _store_statement(scope: Scope, key: str, response: Response) -> tuple[str, list]:
    """The UPDATE that saves the answer into the key's record that has none yet."""
    value, body = _answer_body(response)
    return (
        f"UPDATE {table(IdempotencyRecord)} SET response_status = %s, "  # noqa: S608
        f"response_body = {value} "
        f"WHERE {scope.column} = %s AND key = %s AND response_status IS NULL",
        [response.status_code, body, scope.owner_id, key],
    )


def _upsert_statement(
    scope: Scope, key: str, fingerprint: str, response: Response
) -> tuple[str, list]:
    """The answer stored whether or not the key's record exists: inserted with it, or set
    on a record that has none yet (an in-service POST's record may never have been
    written, or was rolled back with the request's writes)."""
    value, body = _answer_body(response)
    return (
        f"INSERT INTO {table(IdempotencyRecord)} AS i "  # noqa: S608 (the column is ours)
        f"({scope.column}, key, request_fingerprint, created_at, response_status, "
        f"response_body) VALUES (%s, %s, %s, %s, %s, {value}) "
        f"ON CONFLICT ({scope.column}, key) DO UPDATE SET "
        "response_status = excluded.response_status, response_body = excluded.response_body "
        "WHERE i.response_status IS NULL AND i.request_fingerprint = excluded.request_fingerprint",
        [scope.owner_id, key, fingerprint, timezone.now(), response.status_code, body],
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
    lock_id = _lock_id(scope, key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        if not cursor.fetchone()[0]:
            raise IdempotencyKeyInUse()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def _store(scope: Scope, key: str, response: Response) -> None:
    """Save the answer into the key's record that has none yet: one written-out statement,
    on every POST (a sold-out answer in a flash sale too)."""
    execute(*_store_statement(scope, key, response))


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


def idempotent(
    view_method: Callable[..., Response] | None = None,
    *,
    in_service: bool = False,
    own_transactions: bool = False,
) -> Callable[..., Response]:
    """Decorate a POST handler of an APIView to honour `Idempotency-Key`.

    By default the handler runs inside a transaction of this decorator's, which holds the
    key's record locked and stores the answer before it commits. With `in_service=True`
    the handler's service owns the transaction instead: the handler passes it a
    `service_answer(request, render)` (a `CommitPartner`), which locks the record first
    inside the service's transaction and stores the answer before the service takes its
    hot locks. Either way the business writes and the stored answer commit together.
    With `own_transactions=True` the handler runs with no transaction around it, the key
    held "in use" by an advisory lock (`_key_in_use`), the answer stored after it.
    A key seen before is looked up first with these two: a stored answer replays before
    the handler does anything (a checkout's hold, a PSP's session) that it would undo.
    """
    if view_method is None:
        return lambda method: idempotent(
            method, in_service=in_service, own_transactions=own_transactions
        )

    @wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER)
        request._idempotency = None
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or "\x00" in key:
            raise ValidationFailed({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} characters, no NUL."]})
        fingerprint = _fingerprint(request)
        scope = Scope.of(request.auth)
        # In a service's transaction the record is written by its first statement
        # (`_record_claim`), not committed ahead: one commit fewer a request.
        new = False if in_service else _insert_record(scope, key, fingerprint)
        try:
            if not new and (in_service or own_transactions):
                stored = _stored_record(scope, key, fingerprint)
                if stored is not None:
                    raise _Replay(stored)
            if own_transactions:
                with _key_in_use(scope, key):
                    response = view_method(view, request, *args, **kwargs)
                _store(scope, key, response)
                return response
            if in_service:
                request._idempotency = (scope, key, fingerprint)
                response = view_method(view, request, *args, **kwargs)
                answer = getattr(request, "_idempotency_answer", None)
                if answer is None or answer.pending:
                    raise RuntimeError(
                        "An in-service idempotent view must hand its service a service_answer."
                    )
                return response
            with transaction.atomic():
                _record_lock(scope, key, fingerprint)
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
            elif in_service:  # its record rolled back with the service's writes, if written
                execute(*_upsert_statement(scope, key, fingerprint, response))
            else:
                _store(scope, key, response)
            return response

    wrapper.idempotent = True  # the OpenAPI schema declares the header for this operation
    return wrapper


class ServiceAnswer:
    """The stored answer of a POST whose service owns the transaction (`CommitPartner`).

    The view builds it (`service_answer(request, render)`) and hands it to the service:
    `begin()` claims the key inside the service's transaction, its first statement
    (`_record_claim`: a stored answer stops the service with a replay before it writes
    anything, a running twin with 409);
    `finish(result)` renders the answer from the service's result and gives the service the
    statement that stores it, which it runs with its writes before it locks the stock, so
    both commit together or not at all.
    Without an `Idempotency-Key` it only renders.
    """

    def __init__(self, request: Request, render: Callable[[object], Response]) -> None:
        self._render = render
        self._record = getattr(request, "_idempotency", None)  # (scope, key, fingerprint)
        self._claimed = False
        self.response: Response | None = None

    def begin(self) -> None:
        if self._record is None:
            return
        _record_claim(*self._record)
        self._claimed = True

    def finish(self, result: object) -> tuple[str, list] | None:
        """Render the answer; with a key, the statement that stores it, which the service
        runs in its transaction before it locks the stock (`CommitPartner.finish`)."""
        self.response = self._render(result)
        if self._record is None:
            return None
        scope, key, fingerprint = self._record
        self._record = None
        if not self._claimed:  # a service that never began: its record is not written yet
            return _upsert_statement(scope, key, fingerprint, self.response)
        return _store_statement(scope, key, self.response)

    @property
    def pending(self) -> bool:
        """A key's answer the service never stored (it returned without finishing)."""
        return self.response is None


def service_answer(request: Request, render: Callable[[object], Response]) -> ServiceAnswer:
    answer = ServiceAnswer(request, render)
    request._idempotency_answer = answer
    return answer
