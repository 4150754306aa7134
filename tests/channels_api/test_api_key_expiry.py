"""API keys with an expiry: refused from that moment with 401 `not_authenticated`, checked
on the per-process cached key (no database read per request); set from the command line
and in the admin, which shows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.exceptions import ValidationFailed
from channels_api.models import ApiKey
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/store/products"


def test_an_expired_key_is_refused_with_not_authenticated(web):
    _, raw = make_key(web, expires_at=timezone.now() + timedelta(days=1))
    api = Api(raw)
    assert api.get(PRODUCTS).status_code == 200

    ApiKey.objects.update(expires_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    response = api.get(PRODUCTS)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["detail"] == "The API key expired at 2026-01-02T03:04:05Z."


def test_the_cached_key_expires_on_time_without_a_database_read(web):
    _, raw = make_key(web, expires_at=timezone.now() + timedelta(seconds=1.5))
    api = Api(raw)
    assert api.get(PRODUCTS).status_code == 200  # read once, then cached
    time.sleep(1.6)

    with CaptureQueriesContext(connection) as queries:
        response = api.get(PRODUCTS)

    assert response.status_code == 401
    assert not [q["sql"] for q in queries.captured_queries if "channels_api_apikey" in q["sql"]]


def test_a_key_cannot_be_created_already_expired(web):
    with pytest.raises(ValidationFailed) as refused:
        make_key(web, expires_at=timezone.now() - timedelta(seconds=1))

    assert refused.value.errors == {"expires_at": ["Must be in the future."]}
    assert not ApiKey.objects.exists()


def test_the_command_sets_an_expiry_and_refuses_a_bad_one(web):
    out = StringIO()
    call_command(
        "create_api_key", "--kind", "secret", "--expires-at", "2099-01-31T00:00:00Z",
        stdout=out, stderr=StringIO(),
    )  # fmt: skip

    assert ApiKey.objects.get().expires_at == datetime(2099, 1, 31, tzinfo=UTC)
    assert (
        Api(out.getvalue().strip().splitlines()[-1]).get("/api/v1/admin/channels").status_code
        == 200
    )
    for bad in ("tomorrow", "2099-13-01T00:00:00Z", "2099-01-31T00:00:00", "2001-01-01T00:00:00Z"):
        with pytest.raises(CommandError):
            call_command(
                "create_api_key", "--kind", "secret", "--expires-at", bad, stderr=StringIO()
            )
    assert ApiKey.objects.count() == 1


def test_the_admin_sets_and_shows_the_expiry(admin_client, web):
    response = admin_client.post(
        reverse("admin:channels_api_apikey_add"),
        {
            "kind": "publishable",
            "channel": web.pk,
            "name": "campaign",
            "rate_limit": "",
            "expires_at_0": "2099-06-30",
            "expires_at_1": "12:00:00",
        },
        follow=True,
    )

    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.expires_at is not None and key.expires_at.year == 2099
    listed = admin_client.get(reverse("admin:channels_api_apikey_changelist")).content.decode()
    assert "Expires at" in listed and "2099" in listed
    page = admin_client.get(reverse("admin:channels_api_apikey_change", args=[key.pk]))
    assert 'name="expires_at_0" value="2099-06-30"' in page.content.decode()
