"""Sending deliveries: body and signature, retries with backoff, disabling, SSRF, replay."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from backoffice.exceptions import InvalidTransition, ValidationFailed
from backoffice.outbox import deliveries as deliveries_module
from backoffice.outbox.deliveries import (
    deliveries_queue_due,
    delivery_attempt,
    delivery_replay,
    delivery_retry_delay,
)
from backoffice.outbox.models import WebhookDelivery, WebhookEndpoint
from backoffice.outbox.services import event_fan_out
from backoffice.outbox.signing import signature_verify
from backoffice.outbox.url_guard import UnsafeUrl, address_is_public, url_check, url_resolve
from backoffice.outbox.webhook_services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from tests.outbox.conftest import endpoint_for, record

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def deliver_due(now=None) -> list[WebhookDelivery | None]:
    """What the dispatcher and the worker do, in this process."""
    event_fan_out(now=now)
    return [delivery_attempt(delivery_id=pk, now=now) for pk in deliveries_queue_due(now=now)]


def test_delivery_posts_the_event_signed_with_the_endpoint_secret(receiver):
    endpoint = endpoint_for(receiver)
    event = record("order.created", channel_code="web", number="1001")

    [delivery] = deliver_due()

    assert delivery.status == Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.last_response_ms is not None
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    [request] = receiver.requests
    assert request.path == "/hooks"
    assert request.json == {
        "id": str(event.id),
        "type": "order.created",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": 1,
        "aggregate": event.aggregate,
        "channel": "web",
        "data": {"number": "1001"},
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Backoffice-Webhooks/1"
    assert request.headers["Backoffice-Event-Id"] == str(event.id)
    assert request.headers["Backoffice-Event-Type"] == "order.created"
    signature = request.headers["Backoffice-Signature"]
    assert signature.startswith("t=") and signature.count("v1=") == 1
    assert signature_verify(header=signature, body=request.body, secret=endpoint.secret)
    assert not signature_verify(header=signature, body=request.body, secret="whsec_other")
    assert not signature_verify(header=signature, body=request.body + b" ", secret=endpoint.secret)
    assert not signature_verify(
        header=signature, body=request.body, secret=endpoint.secret, now=time.time() + 301
    )


def test_both_secrets_sign_while_rotating_then_only_the_new_one(receiver):
    endpoint = endpoint_for(receiver)
    old_secret = endpoint.secret
    endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint)
    assert endpoint.secret != old_secret and endpoint.secret.startswith("whsec_")
    record()
    deliver_due()

    later = timezone.now() + timedelta(hours=24, seconds=1)
    record()
    deliver_due(now=later)

    during, after = receiver.requests
    header = during.headers["Backoffice-Signature"]
    assert header.count("v1=") == 2
    assert signature_verify(header=header, body=during.body, secret=endpoint.secret)
    assert signature_verify(header=header, body=during.body, secret=old_secret)
    header = after.headers["Backoffice-Signature"]
    assert header.count("v1=") == 1
    assert signature_verify(header=header, body=after.body, secret=endpoint.secret)
    assert not signature_verify(header=header, body=after.body, secret=old_secret)


def test_rotation_can_drop_the_old_secret_at_once(receiver):
    endpoint = endpoint_for(receiver)
    endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint, previous_valid_for=timedelta(0))
    assert endpoint.previous_secret == "" and endpoint.previous_secret_expires_at is None
    with pytest.raises(ValidationFailed):
        webhook_endpoint_rotate_secret(endpoint=endpoint, previous_valid_for=timedelta(days=8))


def test_backoff_schedule_spans_at_least_a_day():
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    waits = [delivery_retry_delay(attempts=n) for n in range(1, len(schedule) + 2)]

    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10)]
    assert waits == [*sorted(waits[:-1]), None]
    assert sum(waits[:-1], timedelta()) >= timedelta(hours=24)


def test_failing_receiver_is_retried_on_the_schedule_then_abandoned(make_receiver):
    receiver = make_receiver(status=500)
    endpoint = endpoint_for(receiver)
    event = record()
    moment = timezone.now()
    event_fan_out(now=moment)
    delivery = WebhookDelivery.objects.get()
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS

    for attempt, wait in enumerate([*schedule, None], start=1):
        early = moment - timedelta(seconds=1)
        assert delivery_attempt(delivery_id=delivery.pk, now=early) is None  # not due yet
        delivery = delivery_attempt(delivery_id=delivery.pk, now=moment)
        assert delivery.attempts == attempt
        assert delivery.last_status_code == 500
        assert delivery.last_error == "HTTP 500: ok"
        if wait is None:
            assert delivery.status == Status.ABANDONED
            assert delivery.next_attempt_at is None
        else:
            assert delivery.status == Status.FAILED
            assert delivery.next_attempt_at == moment + timedelta(seconds=wait)
            moment += timedelta(seconds=wait)

    assert delivery_attempt(delivery_id=delivery.pk, now=moment + timedelta(days=1)) is None
    assert len(receiver.requests) == len(schedule) + 1
    assert {r.headers["Backoffice-Event-Id"] for r in receiver.requests} == {str(event.id)}
    assert {r.json["id"] for r in receiver.requests} == {str(event.id)}
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == len(schedule) + 1
    assert endpoint.active


@override_settings(WEBHOOK_DISABLE_AFTER_FAILURES=3)
def test_endpoint_is_disabled_after_too_many_failures_in_a_row(make_receiver):
    receiver = make_receiver(status=503)
    endpoint = endpoint_for(receiver)
    for _ in range(3):
        record()
    event_fan_out()
    ids = sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    now = timezone.now()

    delivery_attempt(delivery_id=ids[0], now=now)
    delivery_attempt(delivery_id=ids[1], now=now)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 2
    record()  # an event after the endpoint is disabled gets no delivery
    delivery_attempt(delivery_id=ids[2], now=now)

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at == now
    assert endpoint.consecutive_failures == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.ABANDONED}
    event_fan_out()
    assert WebhookDelivery.objects.count() == 3
    assert deliver_due(now=now + timedelta(days=2)) == []
    assert len(receiver.requests) == 3


@override_settings(WEBHOOK_DISABLE_AFTER_FAILURES=3)
def test_a_success_resets_the_failure_run(make_receiver):
    receiver = make_receiver(statuses=[500, 500, 204, 500, 500])
    endpoint = endpoint_for(receiver)
    for _ in range(5):
        record()
    event_fan_out()
    for pk in sorted(WebhookDelivery.objects.values_list("pk", flat=True)):
        delivery_attempt(delivery_id=pk)

    endpoint.refresh_from_db()
    assert endpoint.active
    assert endpoint.consecutive_failures == 2


def test_turning_an_endpoint_back_on_clears_its_failures(receiver):
    endpoint = endpoint_for(receiver)
    endpoint = webhook_endpoint_update(endpoint=endpoint, active=False)
    assert endpoint.disabled_at is not None
    endpoint.consecutive_failures = 7
    endpoint.save()

    endpoint = webhook_endpoint_update(endpoint=endpoint, active=True)

    assert endpoint.active and endpoint.disabled_at is None
    assert endpoint.consecutive_failures == 0


def test_open_delivery_of_a_switched_off_endpoint_is_abandoned_unsent(receiver):
    endpoint = endpoint_for(receiver)
    record()
    event_fan_out()
    webhook_endpoint_update(endpoint=endpoint, active=False)

    assert deliver_due() == [None]

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.ABANDONED
    assert delivery.attempts == 0
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://2130706433/hooks",
        "ftp://93.184.215.14/hooks",
        "https://user:pass@93.184.215.14/hooks",
    ],
)
@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_endpoint_with_a_private_or_odd_url_is_refused(url):
    with pytest.raises(ValidationFailed) as refused:
        webhook_endpoint_create(url=url, event_types=["*"])
    assert list(refused.value.errors) == ["url"]


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_endpoint_with_a_public_address_is_accepted():
    endpoint = webhook_endpoint_create(url="https://93.184.215.14/hooks", event_types=["*"])
    assert endpoint.secret.startswith("whsec_")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not to bind
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_address_is_public(address, public):
    assert address_is_public(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://no-such-host.invalid/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
        "http://[::ffff:169.254.169.254]/hooks",
        "ftp://127.0.0.1/hooks",
    ],
)
@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True)
def test_allowing_private_urls_still_resolves_and_refuses_what_is_not_private(url):
    with pytest.raises(ValidationFailed) as refused:
        webhook_endpoint_create(url=url, event_types=["*"])
    assert list(refused.value.errors) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("allow_private", [True, False])
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost:9/hooks",
        "http://10.1.2.3/hooks",
        "http://[::1]/hooks",
        "http://no-such-host.invalid/hooks",
        "http://169.254.169.254/",
        "http://93.184.215.14/hooks",
    ],
)
def test_the_endpoint_check_and_the_delivery_check_agree(url, allow_private):
    def refused(check) -> bool:
        try:
            check(url, allow_private=allow_private)
        except UnsafeUrl:
            return True
        return False

    assert refused(url_check) is refused(url_resolve)


def test_delivery_to_a_private_address_is_refused_unless_allowed(receiver):
    endpoint_for(receiver)  # created while private URLs are allowed (make test sets it)
    record()

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False):
        [delivery] = deliver_due()

    assert receiver.requests == []
    assert delivery.status == Status.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Refused: The host 127.0.0.1 resolves to a non-public")

    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        [delivery] = deliver_due(now=delivery.next_attempt_at)
    assert delivery.status == Status.SUCCEEDED
    assert len(receiver.requests) == 1


@override_settings(WEBHOOK_TIMEOUT_SECONDS=1)
def test_a_slow_receiver_times_out_without_holding_up_other_endpoints(make_receiver):
    slow, fast = make_receiver(delay=3), make_receiver()
    slow_endpoint, fast_endpoint = endpoint_for(slow), endpoint_for(fast)
    record()
    now = timezone.now()

    started = time.monotonic()
    deliveries = {d.endpoint_id: d for d in deliver_due(now=now)}
    elapsed = time.monotonic() - started

    assert elapsed < 2.5
    assert deliveries[fast_endpoint.pk].status == Status.SUCCEEDED
    timed_out = deliveries[slow_endpoint.pk]
    assert timed_out.status == Status.FAILED
    assert timed_out.last_error == "No answer within 1 s."
    assert timed_out.last_status_code is None
    assert timed_out.next_attempt_at == now + timedelta(seconds=30)
    assert len(slow.requests) == len(fast.requests) == 1


def test_connection_refused_is_a_failure(receiver):
    endpoint = endpoint_for(receiver)
    endpoint.url = "http://127.0.0.1:9/hooks"  # discard port: nothing listens
    endpoint.save()
    record()

    [delivery] = deliver_due()

    assert delivery.status == Status.FAILED
    assert delivery.last_error.startswith("ConnectionRefusedError")


def test_replay_sends_again_with_the_same_event_id(receiver):
    endpoint_for(receiver)
    event = record()
    [delivery] = deliver_due()
    assert delivery.status == Status.SUCCEEDED

    delivery = delivery_replay(delivery=delivery)
    assert delivery.status == Status.PENDING and delivery.attempts == 0
    [delivery] = deliver_due()

    assert delivery.status == Status.SUCCEEDED and delivery.attempts == 1
    first, again = receiver.requests
    assert first.headers["Backoffice-Event-Id"] == again.headers["Backoffice-Event-Id"]
    assert json.loads(again.body)["id"] == str(event.id) == first.json["id"]
    assert WebhookDelivery.objects.count() == 1


def test_replay_to_a_switched_off_endpoint_is_refused(receiver):
    endpoint = endpoint_for(receiver)
    record()
    [delivery] = deliver_due()
    webhook_endpoint_update(endpoint=endpoint, active=False)

    with pytest.raises(InvalidTransition):
        delivery_replay(delivery=delivery)

    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED


def test_delivering_twice_sends_once(receiver):
    endpoint_for(receiver)
    record()
    event_fan_out()
    [pk] = deliveries_queue_due()

    assert delivery_attempt(delivery_id=pk).status == Status.SUCCEEDED
    assert delivery_attempt(delivery_id=pk) is None
    assert deliveries_queue_due() == []
    assert len(receiver.requests) == 1


def _documented_receiver() -> dict:
    """The Python receiver of docs/webhooks.md, run as written."""
    text = (Path(settings.BASE_DIR) / "docs" / "webhooks.md").read_text()
    code = text.split("### A receiver in Python", 1)[1].split("```python\n", 1)[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


def test_the_documented_receiver_verifies_real_deliveries(receiver):
    verify = _documented_receiver()["verify_signature"]
    endpoint = endpoint_for(receiver)
    old_secret = endpoint.secret
    record()
    deliver_due()
    endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint)
    record()
    deliver_due()

    plain, rotating = receiver.requests
    header = plain.headers["Backoffice-Signature"]
    assert verify(header, plain.body, [old_secret])
    assert not verify(header, plain.body, [endpoint.secret])
    assert not verify(header, plain.body + b"x", [old_secret])
    assert not verify(header, plain.body, [old_secret], now=time.time() + 301)
    header = rotating.headers["Backoffice-Signature"]
    assert verify(header, rotating.body, [old_secret])
    assert verify(header, rotating.body, ["whsec_unknown", endpoint.secret])


def test_endpoint_deleted_while_sending_leaves_nothing_behind(make_receiver, monkeypatch):
    receiver = make_receiver(status=500)
    endpoint = endpoint_for(receiver)
    record()
    event_fan_out()
    [pk] = deliveries_queue_due()
    original_post = deliveries_module.webhook_post

    def post_then_delete(**kwargs):
        result = original_post(**kwargs)
        webhook_endpoint_delete(endpoint=endpoint)
        return result

    monkeypatch.setattr(deliveries_module, "webhook_post", post_then_delete)

    assert delivery_attempt(delivery_id=pk) is None

    assert not WebhookDelivery.objects.exists()
    assert len(receiver.requests) == 1
