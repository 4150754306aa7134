"""Refuse oversized request bodies with 413 before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from channels_api.exceptions import status_and_code
from channels_api.problems import problem_response


class RequestSizeLimitMiddleware:
    """Bodies over API_MAX_BODY_BYTES get 413 `payload_too_large` (by Content-Length);
    the admin's pages, which take picture uploads, allow ADMIN_UPLOAD_MAX_BYTES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = (
            settings.ADMIN_UPLOAD_MAX_BYTES
            if request.path.startswith("/admin/")
            else settings.API_MAX_BODY_BYTES
        )
        try:
            too_big = int(length) > limit
        except ValueError:
            return problem_response(400, "bad_request", "Content-Length is not a number.")
        if too_big:
            status, code = status_and_code(RequestDataTooBig)
            return problem_response(status, code, f"The request body is over {limit} bytes.")
        return self.get_response(request)
