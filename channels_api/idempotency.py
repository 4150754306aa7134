"""Idempotency keys: the first response to a POST is stored and replayed for repeats.

Semantics (see the API contract): scoped per API key; the same key with the
same body replays the stored status and body with `Idempotent-Replayed: true`;
with another body → 422 `idempotency_key_reused`; while the first request is
still running → 409 `idempotency_key_in_use`; 5xx responses are not stored.

How: the record row is inserted and committed first, so that a concurrent
request finds it. The request then runs inside one transaction that holds a
row lock (NOWAIT) on the record and saves the response into it, so the
business writes and the stored response commit together or not at all. If
the process dies, the database drops the lock and rolls everything back, and
a retry runs the request afresh: exactly once, with no stale "in use" state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.db import DatabaseError, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import DomainError, ValidationFailed
from channels_api.models import IdempotencyRecord
from channels_api.problems import PROBLEM_CONTENT_TYPE

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


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a POST handler of an APIView to honour `Idempotency-Key`."""

    @wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} characters."]})
        fingerprint = _fingerprint(request)
        IdempotencyRecord.objects.bulk_create(
            [IdempotencyRecord(api_key=request.auth, key=key, request_fingerprint=fingerprint)],
            ignore_conflicts=True,
        )
        with transaction.atomic():
            try:
                record = (
                    IdempotencyRecord.objects.select_for_update(nowait=True)
                    .filter(api_key=request.auth, key=key)
                    .first()
                )
            except DatabaseError as error:
                if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                raise IdempotencyKeyInUse() from error  # the first request holds the lock
            if record is None:  # removed after a 5xx by the request we raced with
                raise IdempotencyKeyInUse()
            if record.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if record.response_status is not None:
                return _replay(record)
            response = _run(view, view_method, request, *args, **kwargs)
            if response.status_code >= 500:
                record.delete()
            else:
                record.response_status = response.status_code
                record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
                record.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper


def _run(view, view_method, request: Request, *args, **kwargs) -> Response:
    """Run the handler in a savepoint; an error becomes its problem response, writes undone."""
    try:
        with transaction.atomic():
            return view_method(view, request, *args, **kwargs)
    except Exception as exc:
        response = view.handle_exception(exc)
        # The savepoint already undid the handler's writes; keep the record's transaction alive.
        transaction.set_rollback(False)
        return response
