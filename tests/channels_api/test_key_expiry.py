"""API-key rotation reminders: one signed `api_key.expiring` webhook per key and expiry date
when the key comes within API_KEY_EXPIRY_WARNING_DAYS of it, on a real worker, across a
restart; and the admin's key list says how long each key has left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from backoffice.outbox.models import OutboxEvent
from backoffice.outbox.signing import signature_verify
from catalog.models import Channel
from channels_api.key_expiry import EVENT_TYPE, api_keys_warn_expiring
from channels_api.models import ApiKey
from channels_api.tasks import api_keys_warn_expiring_task
from tests.factories import make_key
from tests.outbox.conftest import endpoint_for, wait_until
from tests.parallel import while_open


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


def warned() -> list[tuple[str, str]]:
    """(key prefix, expires_at) of every reminder recorded, oldest first."""
    events = OutboxEvent.objects.filter(type=EVENT_TYPE).order_by("created_at", "sequence")
    return [(event.data["prefix"], event.data["expires_at"]) for event in events]


def expired_key(channel, name: str) -> ApiKey:
    key, _ = make_key(channel, name=name, expires_at=in_days(1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=in_days(-1))  # a day has passed
    return key


def prefixes() -> list[str]:
    return [prefix for prefix, _ in warned()]


@pytest.mark.django_db(transaction=True)
def test_a_key_entering_the_window_is_announced_once_by_a_signed_webhook_across_a_restart(
    receiver, test_broker, start_celery
):
    endpoint = endpoint_for(receiver, events=[EVENT_TYPE])
    web = Channel.objects.create(code="web", name="Web", kind="web")
    soon, _ = make_key(web, name="storefront", expires_at=in_days(10))
    later, _ = make_key(None, kind=ApiKey.Kind.SECRET, name="erp", expires_at=in_days(30))
    make_key(web, name="forever")
    revoked, _ = make_key(web, name="old", expires_at=in_days(3))
    revoked.revoke()
    expired_key(web, "gone")
    worker = start_celery("worker", test_broker)

    api_keys_warn_expiring_task.delay()  # what beat does every hour
    wait_until(lambda: prefixes() == [soon.prefix])
    [request] = receiver.wait_for(1)
    worker.kill()
    ApiKey.objects.filter(pk=later.pk).update(expires_at=in_days(5))
    start_celery("worker", test_broker)
    api_keys_warn_expiring_task.delay()
    api_keys_warn_expiring_task.delay()
    wait_until(lambda: prefixes() == [soon.prefix, later.prefix])
    receiver.wait_for(2)

    body = request.json
    assert body["type"] == EVENT_TYPE
    assert body["data"] == {
        "id": str(soon.pk),
        "prefix": soon.prefix,
        "name": "storefront",
        "kind": "publishable",
        "channel": "web",
        "expires_at": soon.expires_at.isoformat().replace("+00:00", "Z"),
        "days_left": 10,
    }
    assert signature_verify(
        header=request.headers["Backoffice-Signature"], body=request.body, secret=endpoint.secret
    )
    assert OutboxEvent.objects.filter(type=EVENT_TYPE).count() == 2


@pytest.mark.django_db
def test_a_second_run_records_nothing_and_a_new_expiry_rearms_the_reminder(web):
    key, _ = make_key(web, expires_at=in_days(7))

    assert api_keys_warn_expiring() == 1
    assert api_keys_warn_expiring() == 0
    ApiKey.objects.filter(pk=key.pk).update(expires_at=in_days(12))  # extended, still near
    assert api_keys_warn_expiring() == 1
    assert api_keys_warn_expiring() == 0

    key.refresh_from_db()
    assert [expires_at for _, expires_at in warned()][-1] == (
        key.expires_at.isoformat().replace("+00:00", "Z")
    )
    assert len(warned()) == 2


@pytest.mark.django_db
def test_keys_already_announced_do_not_hold_back_the_others_in_later_batches(web):
    first = [make_key(web, name=f"early {n}", expires_at=in_days(5))[0] for n in range(2)]
    assert api_keys_warn_expiring(batch_size=2) == 2
    later = [make_key(web, name=f"later {n}", expires_at=in_days(6))[0] for n in range(3)]

    # The two announced keys fill a first batch of two; the run goes on to the rest.
    assert api_keys_warn_expiring(batch_size=2) == 3
    assert sorted(prefixes()) == sorted(key.prefix for key in first + later)
    assert api_keys_warn_expiring(batch_size=2) == 0


@pytest.mark.django_db
def test_the_window_is_the_setting(web, settings):
    settings.API_KEY_EXPIRY_WARNING_DAYS = 3
    make_key(web, name="in four days", expires_at=in_days(4))
    two, _ = make_key(web, name="in two days", expires_at=in_days(2))

    assert api_keys_warn_expiring() == 1
    assert prefixes() == [two.prefix]

    settings.API_KEY_EXPIRY_WARNING_DAYS = 0  # off
    ApiKey.objects.update(expires_at=in_days(1))
    assert api_keys_warn_expiring() == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_announce_each_key_once(web):
    make_key(web, expires_at=in_days(1))

    other = while_open(api_keys_warn_expiring, api_keys_warn_expiring)

    assert other == 0  # it skipped the key the first run had locked, waiting for nothing
    assert len(warned()) == 1
    assert api_keys_warn_expiring() == 0


@pytest.mark.django_db
def test_the_admin_key_list_says_how_long_each_key_has_left(client, web):
    make_key(web, name="soon", expires_at=in_days(2.5))
    make_key(web, name="tomorrow", expires_at=in_days(0.5))
    expired_key(web, "gone")
    make_key(web, name="forever")
    user = User.objects.create_superuser("olive", "olive@example.com", "pw-long-enough-123")
    client.force_login(user)

    page = client.get(reverse("admin:channels_api_apikey_changelist")).content.decode()

    rows = {
        name: row
        for row in page.split("<tr")[1:]
        for name in ("soon", "tomorrow", "gone", "forever")
        if f">{name}<" in row
    }
    assert '<td class="field-expiry">expires in 3 days</td>' in rows["soon"]
    assert '<td class="field-expiry">expires in 1 day</td>' in rows["tomorrow"]
    assert '<td class="field-expiry">expired</td>' in rows["gone"]
    assert '<td class="field-expiry">-</td>' in rows["forever"]
