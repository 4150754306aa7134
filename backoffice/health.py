"""Liveness (`/healthz`) and readiness (`/readyz`) probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process is up; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("Readiness: database unavailable.", exc_info=True)
        return False


def _broker_ok() -> bool | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # no broker configured: tasks run in-process
    from backoffice.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("Readiness: broker unavailable.", exc_info=True)
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 only when the database (and the broker, where one is configured) answer; else 503."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(value is not False for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if ready:
        return JsonResponse(body)
    body.update(
        {
            "type": "https://backoffice.dev/problems/not_ready",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "A dependency is not answering.",
            "code": "not_ready",
        }
    )
    return JsonResponse(body, status=503, content_type="application/problem+json")
