"""An endpoint deleted while events fan out: the two serialize on the endpoint's row, so
no delivery refers to a deleted endpoint (no IntegrityError in either), and the endpoints
that remain get every event."""

from __future__ import annotations

import pytest

from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out
from backoffice.outbox.webhook_services import webhook_endpoint_create, webhook_endpoint_delete
from tests.outbox.conftest import record
from tests.parallel import while_held

pytestmark = pytest.mark.django_db(transaction=True)


def _endpoints() -> tuple[WebhookEndpoint, WebhookEndpoint]:
    return tuple(
        webhook_endpoint_create(url=f"http://127.0.0.1:9/{name}", event_types=["*"])
        for name in ("stays", "goes")
    )


def test_a_deletion_waits_for_a_fan_out_to_the_endpoint_and_takes_its_deliveries_along():
    stays, goes = _endpoints()
    events = [record(), record()]

    while_held(event_fan_out, lambda: webhook_endpoint_delete(endpoint=goes))

    assert not WebhookEndpoint.objects.filter(pk=goes.pk).exists()
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == {
        (stays.pk, event.pk) for event in events
    }
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_fan_out_during_a_deletion_waits_and_leaves_the_deleted_endpoint_out():
    stays, goes = _endpoints()
    events = [record(), record()]

    taken = while_held(lambda: webhook_endpoint_delete(endpoint=goes), event_fan_out)

    assert taken == 2
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == {
        (stays.pk, event.pk) for event in events
    }
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_deleting_an_endpoint_deleted_meanwhile_does_nothing():
    stays, goes = _endpoints()
    stale = WebhookEndpoint.objects.get(pk=goes.pk)
    webhook_endpoint_delete(endpoint=goes)

    webhook_endpoint_delete(endpoint=stale)

    assert list(WebhookEndpoint.objects.values_list("pk", flat=True)) == [stays.pk]
