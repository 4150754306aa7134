"""Admin API for webhook endpoints, their deliveries and replay, and the events list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out
from channels_api.models import ApiKey
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key
from tests.outbox.conftest import record

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/admin/webhooks"
EVENTS = "/api/v1/admin/events"
HOOK = {"url": "https://hooks.example.com/backoffice", "events": ["order.created"]}


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    """Public host names resolve to a public address without asking a DNS server."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host.endswith("example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def web_admin_api(web) -> Api:
    """A secret key limited to the `web` channel."""
    return Api(make_key(web, kind=ApiKey.Kind.SECRET)[1])


def test_create_endpoint_shows_the_secret_once(admin_api, web):
    response = admin_api.post(WEBHOOKS, {**HOOK, "channel": "web", "description": "ERP"})

    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == str(endpoint.pk)
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["url"] == HOOK["url"]
    assert body["events"] == ["order.created"]
    assert body["channel"] == "web"
    assert body["description"] == "ERP"
    assert body["active"] is True
    assert body["consecutive_failures"] == 0
    listed = admin_api.get(WEBHOOKS).json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert listed["next"] is None
    assert "secret" not in listed["results"][0]
    assert "secret" not in admin_api.get(f"{WEBHOOKS}/{endpoint.pk}").json()


def test_create_endpoint_for_all_events(admin_api):
    response = admin_api.post(WEBHOOKS, {"url": HOOK["url"], "events": ["*", "order.paid"]})
    assert response.status_code == 201
    assert response.json()["events"] == ["*"]
    assert response.json()["channel"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": HOOK["url"], "events": ["order.exploded"]}, "events"),
        ({"url": HOOK["url"], "events": []}, "events"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "ftp://hooks.example.com/x", "events": ["*"]}, "url"),
        ({**HOOK, "channel": "nope"}, "channel"),
    ],
)
def test_create_endpoint_with_bad_input_is_400(admin_api, payload, field):
    body = assert_problem(admin_api.post(WEBHOOKS, payload), 400, "invalid")
    assert field in body["errors"]
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_create_endpoint_on_a_private_address_is_400(admin_api):
    body = assert_problem(
        admin_api.post(WEBHOOKS, {"url": "http://127.0.0.1:8000/hook", "events": ["*"]}),
        400,
        "invalid",
    )
    assert "non-public" in body["errors"]["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_create_endpoint_is_idempotent(admin_api):
    first = admin_api.post(WEBHOOKS, HOOK, HTTP_IDEMPOTENCY_KEY="hook-1")
    again = admin_api.post(WEBHOOKS, HOOK, HTTP_IDEMPOTENCY_KEY="hook-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.count() == 1


def test_publishable_key_cannot_manage_webhooks(store_api):
    assert_problem(store_api.get(WEBHOOKS), 403, "permission_denied")
    assert_problem(store_api.post(WEBHOOKS, HOOK), 403, "permission_denied")


def test_update_and_delete_endpoint(admin_api, web):
    endpoint_id = admin_api.post(WEBHOOKS, HOOK).json()["id"]
    url = f"{WEBHOOKS}/{endpoint_id}"

    response = admin_api.patch(
        url, {"events": ["stock.low", "order.paid"], "channel": "web", "active": False}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["events"] == ["stock.low", "order.paid"]
    assert body["channel"] == "web"
    assert body["active"] is False and body["disabled_at"] is not None
    body = admin_api.patch(url, {"active": True, "channel": None}).json()
    assert body["active"] is True and body["disabled_at"] is None
    assert body["channel"] is None
    assert_problem(admin_api.patch(url, {"events": ["bogus"]}), 400, "invalid")
    assert WebhookEndpoint.objects.get().event_types == ["stock.low", "order.paid"]

    assert admin_api.delete(url).status_code == 204
    assert_problem(admin_api.get(url), 404, "not_found")
    assert_problem(admin_api.get(f"{WEBHOOKS}/abc"), 404, "not_found")


def test_rotate_secret_returns_the_new_secret_and_keeps_the_old_one_a_day(admin_api):
    created = admin_api.post(WEBHOOKS, HOOK).json()

    response = admin_api.post(f"{WEBHOOKS}/{created['id']}/rotate-secret")

    assert response.status_code == 200, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret != created["secret"]
    assert endpoint.previous_secret == created["secret"]
    expires = endpoint.previous_secret_expires_at
    assert abs(expires - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    assert body["previous_secret_expires_at"] is not None
    body = assert_problem(
        admin_api.post(
            f"{WEBHOOKS}/{created['id']}/rotate-secret", {"previous_secret_valid_for": -1}
        ),
        400,
        "invalid",
    )
    assert "previous_secret_valid_for" in body["errors"]
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_deliveries_are_listed_with_filters_and_can_be_replayed(admin_api):
    endpoint_id = admin_api.post(WEBHOOKS, {"url": HOOK["url"], "events": ["*"]}).json()["id"]
    low = record("stock.low")
    order = record("order.created", channel_code="web")
    event_fan_out()
    WebhookDelivery.objects.filter(event=order).update(status="failed", attempts=3)
    url = f"{WEBHOOKS}/{endpoint_id}/deliveries"

    everything = admin_api.get(url).json()["results"]
    failed = admin_api.get(url, {"status": "failed"}).json()["results"]
    stock = admin_api.get(url, {"event_type": "stock.low"}).json()["results"]

    assert [d["event"]["id"] for d in everything] == [str(order.id), str(low.id)]
    assert [d["event"]["id"] for d in failed] == [str(order.id)]
    assert [d["event"]["type"] for d in stock] == ["stock.low"]
    assert failed[0]["attempts"] == 3 and failed[0]["endpoint"] == endpoint_id
    assert_problem(admin_api.get(url, {"status": "lost"}), 400, "invalid")

    replayed = admin_api.post(f"{WEBHOOKS}/deliveries/{failed[0]['id']}/replay")
    assert replayed.status_code == 202, replayed.json()
    assert replayed.json()["status"] == "pending"
    assert replayed.json()["attempts"] == 0
    assert replayed.json()["event"]["id"] == str(order.id)
    assert_problem(admin_api.post(f"{WEBHOOKS}/deliveries/999999/replay"), 404, "not_found")


def test_replay_to_a_switched_off_endpoint_is_409(admin_api):
    endpoint_id = admin_api.post(WEBHOOKS, {"url": HOOK["url"], "events": ["*"]}).json()["id"]
    record()
    event_fan_out()
    admin_api.patch(f"{WEBHOOKS}/{endpoint_id}", {"active": False})
    delivery = WebhookDelivery.objects.get()

    response = admin_api.post(f"{WEBHOOKS}/deliveries/{delivery.pk}/replay")

    assert_problem(response, 409, "invalid_transition")
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0


def test_channel_limited_key_sees_and_creates_only_its_channel(
    admin_api, web_admin_api, web, instagram
):
    other = admin_api.post(WEBHOOKS, {**HOOK, "channel": "instagram"}).json()
    everywhere = admin_api.post(WEBHOOKS, HOOK).json()

    own = web_admin_api.post(WEBHOOKS, HOOK)
    assert own.status_code == 201
    assert own.json()["channel"] == "web"  # a limited key's endpoints are its channel's
    assert_problem(
        web_admin_api.post(WEBHOOKS, {**HOOK, "channel": "instagram"}), 403, "permission_denied"
    )
    listed = [item["id"] for item in web_admin_api.get(WEBHOOKS).json()["results"]]
    assert listed == [own.json()["id"]]
    for hidden in (other, everywhere):
        assert_problem(web_admin_api.get(f"{WEBHOOKS}/{hidden['id']}"), 404, "not_found")
        assert_problem(web_admin_api.delete(f"{WEBHOOKS}/{hidden['id']}"), 404, "not_found")
    assert_problem(
        web_admin_api.patch(f"{WEBHOOKS}/{own.json()['id']}", {"channel": None}),
        403,
        "permission_denied",
    )
    assert WebhookEndpoint.objects.count() == 3


def test_events_are_listed_oldest_first_with_filters(admin_api, web_admin_api):
    low = record("stock.low", sku="TEE-S")
    web_order = record("order.created", channel_code="web", number="1")
    insta_order = record("order.created", channel_code="instagram", number="2")
    OutboxEvent.objects.filter(pk=low.pk).update(created_at=timezone.now() - timedelta(days=2))

    def ids(client=admin_api, **query) -> list[str]:
        response = client.get(EVENTS, query)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [str(low.id), str(web_order.id), str(insta_order.id)]
    assert ids(type="order.created") == [str(web_order.id), str(insta_order.id)]
    assert ids(channel="instagram") == [str(insta_order.id)]
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_before=yesterday) == [str(low.id)]
    assert ids(created_after=yesterday, type="order.created", limit=1) == [str(web_order.id)]
    assert ids(client=web_admin_api) == [str(web_order.id)]
    assert_problem(admin_api.get(EVENTS, {"created_after": "yesterday"}), 400, "invalid")

    body = admin_api.get(f"{EVENTS}/{web_order.id}").json()
    assert body == {
        "id": str(web_order.id),
        "type": "order.created",
        "created_at": web_order.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": 1,
        "aggregate": web_order.aggregate,
        "channel": "web",
        "data": {"number": "1"},
    }
    assert_problem(web_admin_api.get(f"{EVENTS}/{insta_order.id}"), 404, "not_found")
    assert_problem(admin_api.get(f"{EVENTS}/not-a-uuid"), 404, "not_found")


def test_webhook_routes_are_in_the_schema(anonymous_api):
    schema = anonymous_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/admin/webhooks",
        "/api/v1/admin/webhooks/{id}",
        "/api/v1/admin/webhooks/{id}/rotate-secret",
        "/api/v1/admin/webhooks/{id}/deliveries",
        "/api/v1/admin/webhooks/deliveries/{id}/replay",
        "/api/v1/admin/events",
    ):
        assert path in paths, path


def test_signing_secrets_are_encrypted_at_rest(admin_api, settings):
    from django.db import connection

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    created = admin_api.post(
        "/api/v1/admin/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    ).json()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM outbox_webhookendpoint WHERE id = %s", [int(created["id"])]
        )
        stored = cursor.fetchone()[0]
    assert created["secret"].startswith("whsec_")
    assert created["secret"] not in stored and stored.startswith("enc1:")
    from backoffice.outbox.models import WebhookEndpoint

    assert WebhookEndpoint.objects.get(pk=int(created["id"])).secret == created["secret"]
