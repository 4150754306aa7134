"""The Django admin pages for endpoints, deliveries and events, and their actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.outbox.models import WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out
from tests.outbox.conftest import record

pytestmark = pytest.mark.django_db


def test_staff_create_an_endpoint_and_see_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:outbox_webhookendpoint_add"),
        {
            "url": "http://127.0.0.1:9/hooks",
            "description": "ERP",
            "event_types": ["order.created", "stock.low"],
            "channel_code": "",
            "active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["order.created", "stock.low"]
    messages = [str(m) for m in response.context["messages"]]
    assert any(endpoint.secret in m and "not shown again" in m for m in messages)
    page = admin_client.get(reverse("admin:outbox_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()


def test_staff_pages_render_and_replay_a_delivery(admin_client):
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks", event_types=["*"], secret="whsec_x"
    )
    event = record()
    event_fan_out()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="abandoned", attempts=10)

    for page in (
        reverse("admin:outbox_webhookendpoint_changelist"),
        reverse("admin:outbox_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}",
        reverse("admin:outbox_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:outbox_outboxevent_changelist"),
        reverse("admin:outbox_outboxevent_change", args=[event.pk]),
    ):
        assert admin_client.get(page).status_code == 200, page

    response = admin_client.post(
        reverse("admin:outbox_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
