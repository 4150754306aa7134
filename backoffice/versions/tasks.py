"""Periodic task: fold the change counters of ended database sessions."""

from __future__ import annotations

from celery import shared_task

from backoffice import task_names
from backoffice.versions.current import data_versions_compact


@shared_task(name=task_names.DATA_VERSIONS_COMPACT)
def data_versions_compact_task() -> int:
    return data_versions_compact()
