"""Backoffice project package: settings, URLs, the Celery app and shared domain helpers."""

from backoffice.celery import app as celery_app

__all__ = ["celery_app"]
