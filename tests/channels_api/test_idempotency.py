"""Idempotency-Key semantics on POST (the checkout tests cover concurrency)."""

from __future__ import annotations

import pytest

from catalog.models import Channel
from channels_api.models import ApiKey
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db

CHANNELS = "/api/v1/admin/channels"


def test_repeat_with_same_body_replays_the_first_response(admin_api):
    first = admin_api.post(CHANNELS, {"code": "one"}, HTTP_IDEMPOTENCY_KEY="k1")
    again = admin_api.post(CHANNELS, {"code": "one"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Channel.objects.filter(code="one").count() == 1


def test_same_key_with_another_body_is_422_and_changes_nothing(admin_api):
    admin_api.post(CHANNELS, {"code": "one"}, HTTP_IDEMPOTENCY_KEY="k1")
    response = admin_api.post(CHANNELS, {"code": "two"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert_problem(response, 422, "idempotency_key_reused")
    assert not Channel.objects.filter(code="two").exists()


def test_errors_are_stored_and_replayed_too(admin_api):
    first = admin_api.post(CHANNELS, {"code": "Bad!"}, HTTP_IDEMPOTENCY_KEY="k2")
    again = admin_api.post(CHANNELS, {"code": "Bad!"}, HTTP_IDEMPOTENCY_KEY="k2")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == "application/problem+json"


def test_keys_are_scoped_per_api_key(admin_api):
    other = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    assert admin_api.post(CHANNELS, {"code": "one"}, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    response = other.post(CHANNELS, {"code": "two"}, HTTP_IDEMPOTENCY_KEY="same")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_overlong_key_is_400(admin_api):
    response = admin_api.post(CHANNELS, {"code": "one"}, HTTP_IDEMPOTENCY_KEY="x" * 256)
    body = assert_problem(response, 400, "invalid")
    assert "Idempotency-Key" in body["errors"]
    assert not Channel.objects.exists()


def test_stored_answers_are_kept_a_day_at_least_then_purged(admin_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    from channels_api.models import IdempotencyRecord
    from channels_api.tasks import retention_purge_task

    admin_api.post(CHANNELS, {"code": "old"}, HTTP_IDEMPOTENCY_KEY="old")
    admin_api.post(CHANNELS, {"code": "new"}, HTTP_IDEMPOTENCY_KEY="new")
    assert settings.IDEMPOTENCY_TTL_HOURS >= 24
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS, minutes=1)
    )
    IdempotencyRecord.objects.filter(key="new").update(
        created_at=timezone.now() - timedelta(hours=23)
    )

    assert retention_purge_task.run()["idempotency_records"] == 1

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    replay = admin_api.post(CHANNELS, {"code": "new"}, HTTP_IDEMPOTENCY_KEY="new")
    assert replay["Idempotent-Replayed"] == "true"
