"""Retention: the hourly purge deletes what is past its age, keeps what is still needed,
and deletes in short batches of its own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice import retention
from backoffice.audit.models import AuditEntry
from backoffice.celery import app
from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from channels_api.models import ApiKey, IdempotencyRecord
from channels_api.tasks import retention_purge_task
from tests.factories import make_key

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def ago(delta: timedelta):
    return timezone.now() - delta


def event(name: str, age: timedelta, dispatched: bool = True) -> OutboxEvent:
    row = OutboxEvent.objects.create(
        type="stock.low", aggregate=name, sequence=1, data={"name": name}
    )
    OutboxEvent.objects.filter(pk=row.pk).update(
        created_at=ago(age), dispatched_at=ago(age) if dispatched else None
    )
    return row


def delivery(endpoint: WebhookEndpoint, row: OutboxEvent, status: str, age: timedelta):
    made = WebhookDelivery.objects.create(endpoint=endpoint, event=row, status=status)
    WebhookDelivery.objects.filter(pk=made.pk).update(created_at=ago(age), updated_at=ago(age))
    return made


def audit(name: str, age: timedelta) -> None:
    row = AuditEntry.objects.create(actor="staff:ada", action=name, target_type="t", target_id=1)
    AuditEntry.objects.filter(pk=row.pk).update(created_at=ago(age))


def answer(key: str, age: timedelta, api_key: ApiKey) -> None:
    row = IdempotencyRecord.objects.create(api_key=api_key, key=key, request_fingerprint="f")
    IdempotencyRecord.objects.filter(pk=row.pk).update(created_at=ago(age))


@pytest.fixture
def endpoint() -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/", event_types=["*"])


@pytest.fixture
def ages(settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    settings.OUTBOX_RETENTION_DAYS = 90
    settings.AUDIT_RETENTION_DAYS = 730
    settings.IDEMPOTENCY_TTL_HOURS = 48


def test_the_purge_deletes_rows_past_their_age_and_keeps_what_is_still_needed(ages, endpoint):
    # Outbox events past 90 days: gone once dispatched and done with, kept while needed.
    delivered = event("delivered", 100 * DAY)
    delivery(endpoint, delivered, "succeeded", 100 * DAY)
    given_up = event("given-up", 100 * DAY)
    delivery(endpoint, given_up, "abandoned", 99 * DAY)
    retrying = event("retrying", 100 * DAY)
    delivery(endpoint, retrying, "failed", 100 * DAY)
    waiting = event("waiting", 100 * DAY)
    delivery(endpoint, waiting, "pending", 100 * DAY)
    event("undispatched", 100 * DAY, dispatched=False)
    event("no-endpoint", 100 * DAY)
    young = event("young", 80 * DAY)
    # Deliveries finished and untouched for 30 days go; their young event stays.
    delivery(endpoint, young, "succeeded", 31 * DAY)
    recent = event("recent", 10 * DAY)
    delivery(endpoint, recent, "succeeded", 29 * DAY)
    # Audit entries: two years.
    audit("old", 731 * DAY)
    audit("kept", 729 * DAY)
    # Idempotent answers: 48 hours.
    key = make_key(None, kind=ApiKey.Kind.SECRET)[0]
    answer("stale", timedelta(hours=49), key)
    answer("fresh", timedelta(hours=47), key)

    purged = retention_purge_task.run()

    assert purged == {
        "idempotency_records": 1,
        "webhook_deliveries": 3,  # delivered (100 d), given-up (99 d), young's (31 d)
        "outbox_events": 3,  # delivered, given-up, no-endpoint
        "audit_entries": 1,
    }
    assert sorted(OutboxEvent.objects.values_list("aggregate", flat=True)) == [
        "recent", "retrying", "undispatched", "waiting", "young",
    ]  # fmt: skip
    assert sorted(WebhookDelivery.objects.values_list("event__aggregate", "status")) == [
        ("recent", "succeeded"), ("retrying", "failed"), ("waiting", "pending"),
    ]  # fmt: skip
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["kept"]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert retention_purge_task.run() == dict.fromkeys(purged, 0)  # a second run finds nothing


def test_zero_days_keeps_rows_forever(ages, settings, endpoint):
    settings.AUDIT_RETENTION_DAYS = 0
    settings.OUTBOX_RETENTION_DAYS = 0
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 0
    delivery(endpoint, event("ancient", 5000 * DAY), "succeeded", 5000 * DAY)
    audit("ancient", 5000 * DAY)

    purged = retention_purge_task.run()

    assert (purged["outbox_events"], purged["webhook_deliveries"], purged["audit_entries"]) == (
        0, 0, 0,
    )  # fmt: skip
    assert (OutboxEvent.objects.count(), AuditEntry.objects.count()) == (1, 1)


def test_rows_go_in_batches_of_at_most_the_batch_size_each_its_own_delete(ages, settings):
    settings.RETENTION_BATCH_SIZE = 2
    for number in range(5):
        audit(f"old-{number}", 800 * DAY)
    table = AuditEntry._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        assert retention_purge_task.run()["audit_entries"] == 5

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE") and table in q["sql"]]
    batches = [re.search(r"\bIN \(([^)]*)\)", sql).group(1).split(", ") for sql in deletes]
    assert [len(ids) for ids in batches] == [2, 2, 1]
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_commits_on_its_own_so_a_failing_later_batch_keeps_earlier_ones(
    ages, settings, monkeypatch
):
    for number in range(4):
        audit(f"old-{number}", 800 * DAY)
    real_delete, calls = retention._delete, []

    def fail_on_second_batch(queryset):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_delete(queryset)

    monkeypatch.setattr(retention, "_delete", fail_on_second_batch)
    with pytest.raises(RuntimeError):
        retention.audit_entries_purge(days=730, batch_size=2, deadline=retention.run_deadline())

    assert AuditEntry.objects.count() == 2  # the first batch stayed deleted


def test_a_run_stops_at_its_deadline_and_the_next_one_carries_on(ages):
    for number in range(3):
        audit(f"old-{number}", 800 * DAY)

    assert retention.audit_entries_purge(days=730, batch_size=1, deadline=0.0) == 0
    assert AuditEntry.objects.count() == 3
    assert retention.audit_entries_purge(days=730, batch_size=1, deadline=float("inf")) == 3


def test_beat_runs_the_purge_hourly_and_the_defaults_keep_audit_longest():
    entry = app.conf.beat_schedule["retention-purge"]

    assert entry["task"] == retention_purge_task.name
    assert entry["schedule"] == 3600.0
    days = {
        "deliveries": settings.WEBHOOK_DELIVERY_RETENTION_DAYS,
        "events": settings.OUTBOX_RETENTION_DAYS,
        "audit": settings.AUDIT_RETENTION_DAYS,
    }
    assert days == {"deliveries": 30, "events": 90, "audit": 730}
    assert settings.IDEMPOTENCY_TTL_HOURS >= 24
