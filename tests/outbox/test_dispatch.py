"""Fan-out of outbox events to webhook endpoints, and the dispatcher nudge after commit."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import cache
from django.db import transaction

from backoffice.outbox import services as outbox_services
from backoffice.outbox.models import OutboxEvent, WebhookDelivery
from backoffice.outbox.services import (
    DISPATCH_TASK,
    NUDGE_PENDING_KEY,
    dispatcher_nudge,
    event_fan_out,
)
from backoffice.outbox.tasks import outbox_dispatch
from backoffice.outbox.webhook_services import webhook_endpoint_create, webhook_endpoint_update
from tests.outbox.conftest import app_broker, free_port, queued_tasks, record
from tests.parallel import rows_locked


def _endpoint(events, channel_code=""):
    return webhook_endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=events, channel_code=channel_code
    )


def _pairs() -> set[tuple[int, str]]:
    return set(WebhookDelivery.objects.values_list("endpoint_id", "event__type"))


@pytest.mark.django_db
def test_fan_out_matches_event_types_and_channel():
    everything = _endpoint(["*"])
    orders = _endpoint(["order.created"])
    stock = _endpoint(["stock.low"])
    web_only = _endpoint(["*"], channel_code="web")
    switched_off = _endpoint(["*"])
    webhook_endpoint_update(endpoint=switched_off, active=False)
    web_order = record("order.created", channel_code="web")
    instagram_order = record("order.created", channel_code="instagram")
    low = record("stock.low")

    assert event_fan_out() == 3

    got = set(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))
    assert got == {
        (everything.pk, web_order.pk),
        (orders.pk, web_order.pk),
        (web_only.pk, web_order.pk),
        (everything.pk, instagram_order.pk),
        (orders.pk, instagram_order.pk),
        (everything.pk, low.pk),
        (stock.pk, low.pk),
    }
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db
def test_fan_out_takes_each_event_once():
    endpoint = _endpoint(["*"])
    record()
    assert event_fan_out() == 1

    assert event_fan_out() == 0
    later = _endpoint(["*"])  # endpoints get events recorded after they were created
    assert event_fan_out() == 0

    assert _pairs() == {(endpoint.pk, "stock.low")}
    assert not WebhookDelivery.objects.filter(endpoint=later).exists()


@pytest.mark.django_db
def test_an_event_nobody_wants_is_marked_dispatched_without_deliveries():
    _endpoint(["order.created"])
    event = record("stock.low")

    assert event_fan_out() == 1

    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_dispatcher_skips_events_another_dispatcher_holds():
    """Concurrent dispatchers split the events (SKIP LOCKED) instead of waiting or doubling."""
    endpoint = _endpoint(["*"])
    held, free = record(), record()

    with rows_locked(OutboxEvent.objects.filter(pk=held.pk)):  # another dispatcher holds it
        started = time.monotonic()
        assert event_fan_out() == 1
        assert time.monotonic() - started < 2  # did not wait for the lock
        assert set(WebhookDelivery.objects.values_list("event_id", flat=True)) == {free.pk}

    assert event_fan_out() == 1
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == {
        (endpoint.pk, held.pk),
        (endpoint.pk, free.pk),
    }


@pytest.mark.django_db
def test_one_nudge_per_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        record()
        record("order.created", channel_code="web")

    assert callbacks == [dispatcher_nudge]


@pytest.mark.django_db
def test_nudge_with_the_broker_down_does_not_fail_the_caller(
    django_capture_on_commit_callbacks, caplog
):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    with app_broker(dead_broker), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            event = record()
        elapsed = time.monotonic() - started

    assert callbacks == [dispatcher_nudge]
    assert elapsed < 5
    assert OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=True).exists()
    assert caplog.text.count(f"Could not queue {DISPATCH_TASK}") == 1
    assert cache.get(NUDGE_PENDING_KEY) is None  # nothing was queued: the next commit nudges

    # While the broker stays down, the next transactions do not wait for it again.
    with app_broker(dead_broker), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        dispatcher_nudge()
        assert time.monotonic() - started < 0.1
    assert caplog.text.count(f"Could not queue {DISPATCH_TASK}") == 1
    assert cache.get(NUDGE_PENDING_KEY) is None


@pytest.mark.django_db(transaction=True)
def test_a_pending_nudge_is_shared_until_the_dispatcher_run_starts(test_broker, monkeypatch):
    monkeypatch.setattr(outbox_services, "NUDGE_PENDING_SECONDS", 60)  # only the run clears it
    record()
    record("order.created", channel_code="web")
    record()

    assert queued_tasks(test_broker) == [(DISPATCH_TASK, [])]

    outbox_dispatch()  # the run the nudge asked for: clears the flag before reading events

    assert cache.get(NUDGE_PENDING_KEY) is None
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    record()
    assert queued_tasks(test_broker) == [(DISPATCH_TASK, []), (DISPATCH_TASK, [])]


@pytest.mark.django_db(transaction=True)
def test_without_a_shared_cache_every_commit_nudges(test_broker, settings):
    """A worker cannot clear another process's in-memory flag: no debounce then."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    record()
    record()

    assert queued_tasks(test_broker) == [(DISPATCH_TASK, []), (DISPATCH_TASK, [])]


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_events_are_dispatched_at_once_whatever_the_flag(no_broker):
    _endpoint(["order.created"])
    cache.set(NUDGE_PENDING_KEY, 1, 60)  # as if another process had a nudge pending

    event = record()

    event.refresh_from_db()
    assert event.dispatched_at is not None
