"""Refuse oversized request bodies with 413 before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from channels_api.exceptions import status_and_code
from channels_api.problems import problem_response


class RequestSizeLimitMiddleware:
    """Bodies over API_MAX_BODY_BYTES get 413 `payload_too_large` (by Content-Length)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            too_big = int(length) > settings.API_MAX_BODY_BYTES
        except ValueError:
            return problem_response(400, "bad_request", "Content-Length is not a number.")
        if too_big:
            status, code = status_and_code(RequestDataTooBig)
            return problem_response(
                status, code, f"The request body is over {settings.API_MAX_BODY_BYTES} bytes."
            )
        return self.get_response(request)
