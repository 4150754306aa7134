"""Error pages: the admin's own HTML under /admin/, problem+json everywhere else."""

from __future__ import annotations

from django.http import HttpRequest
from django.views import defaults

from channels_api import exceptions as api_errors


def _in_admin(request: HttpRequest) -> bool:
    return request.path.startswith("/admin/")


def handler403(request: HttpRequest, exception: Exception | None = None):
    if _in_admin(request):
        return defaults.permission_denied(request, exception, template_name="admin/403.html")
    return api_errors.handler403(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None):
    if _in_admin(request):
        return defaults.page_not_found(request, exception, template_name="admin/404.html")
    return api_errors.handler404(request, exception)
