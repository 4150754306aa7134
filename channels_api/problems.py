"""Build RFC 9457 problem+json responses; the one shape of every API error."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://backoffice.dev/problems/"


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


def problem_response(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    """A plain Django response, for errors raised outside DRF views (404 routes, 413, 500)."""
    return JsonResponse(
        problem_body(status, code, detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
