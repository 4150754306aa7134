"""The only place that turns exceptions into HTTP problem+json with the contract's codes."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpRequest
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from backoffice.exceptions import DomainError
from channels_api.problems import PROBLEM_CONTENT_TYPE, problem_body, problem_response

logger = logging.getLogger(__name__)
DATABASE_REFUSAL = "Refused input the database cannot store"

# Exceptions other than DomainError, in the order they are matched: the status and code of
# the problem each becomes. The OpenAPI schema reads the same table (`status_and_code`).
_CODES: list[tuple[type[Exception], int, str]] = [
    (exceptions.ValidationError, 400, "invalid"),
    (DataError, 400, "invalid"),
    (Http404, 404, "not_found"),
    (PermissionDenied, 403, "permission_denied"),
    (RequestDataTooBig, 413, "payload_too_large"),
    (exceptions.NotAuthenticated, 401, "not_authenticated"),
    (exceptions.AuthenticationFailed, 401, "not_authenticated"),
    (exceptions.PermissionDenied, 403, "permission_denied"),
    (exceptions.NotFound, 404, "not_found"),
    (exceptions.MethodNotAllowed, 405, "method_not_allowed"),
    (exceptions.NotAcceptable, 406, "not_acceptable"),
    (exceptions.UnsupportedMediaType, 415, "unsupported_media_type"),
    (exceptions.Throttled, 429, "rate_limited"),
    (exceptions.ParseError, 400, "parse_error"),
]
SERVER_ERROR = (500, "server_error")


def status_and_code(exception_class: type[Exception]) -> tuple[int, str]:
    """The status and code of the problem an exception of this class becomes."""
    if issubclass(exception_class, DomainError):
        return exception_class.status, exception_class.code
    for known_class, status, code in _CODES:
        if issubclass(exception_class, known_class):
            return status, code
    if issubclass(exception_class, exceptions.APIException):
        return exception_class.status_code, exception_class.default_code
    return SERVER_ERROR


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as `{"field": ["message"]}`; nested fields use dots."""
    if isinstance(detail, list):
        detail = {"non_field_errors": detail}
    errors: dict[str, list[str]] = {}
    for field, messages in detail.items():
        if isinstance(messages, dict):  # a nested object, e.g. an address: `address.city`
            for sub_field, sub_messages in _flatten(messages).items():
                errors.setdefault(f"{field}.{sub_field}", []).extend(sub_messages)
            continue
        items = messages if isinstance(messages, list) else [messages]
        for index, item in enumerate(items):
            if isinstance(item, dict):
                for sub_field, sub_messages in _flatten(item).items():
                    errors.setdefault(f"{field}.{index}.{sub_field}", []).extend(sub_messages)
            elif isinstance(item, list):
                errors.setdefault(f"{field}.{index}", []).extend(str(m) for m in item)
            else:
                errors.setdefault(str(field), []).append(str(item))
    return errors


def _response(status: int, code: str, detail: str, headers: dict | None = None, **extra: Any):
    return Response(
        problem_body(status, code, detail, **extra),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error becomes problem+json; unknown ones are 500."""
    set_rollback()
    if isinstance(exc, DomainError):
        return _response(exc.status, exc.code, exc.detail, **exc.extra)
    status, code = status_and_code(type(exc))
    if isinstance(exc, exceptions.ValidationError):
        return _response(
            status, code, "The request has invalid fields.", errors=_flatten(exc.detail)
        )
    if isinstance(exc, DataError):
        # A last resort: inputs are checked against what their columns hold before the
        # database is reached, naming the field. Reaching this is a gap in those checks
        # (logged as a warning to be fixed); the database does not say which field it was.
        logger.warning(f"{DATABASE_REFUSAL}: %s", exc)
        return _response(
            status,
            code,
            "A value in the request cannot be stored as sent.",
            errors={"non_field_errors": ["A value is too long or too large to be stored."]},
        )
    if isinstance(exc, Http404):
        return _response(status, code, "Not found.")
    if isinstance(exc, PermissionDenied):
        return _response(status, code, "You do not have permission.")
    if isinstance(exc, RequestDataTooBig):
        return _response(status, code, "The request body is too large.")
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        return _response(status, code, str(exc.detail), headers=headers)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return _response(status, code, "Something went wrong on our side.")


# Django-level handlers, for requests that never reach a DRF view.
def handler400(request: HttpRequest, exception: Exception | None = None):
    return problem_response(400, "bad_request", "The request could not be understood.")


def handler403(request: HttpRequest, exception: Exception | None = None):
    return problem_response(403, "permission_denied", "You do not have permission.")


def handler404(request: HttpRequest, exception: Exception | None = None):
    return problem_response(404, "not_found", "Not found.")


def handler500(request: HttpRequest):
    return problem_response(500, "server_error", "Something went wrong on our side.")
