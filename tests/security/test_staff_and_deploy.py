"""Staff login brute-force protection, audit trail, and the production settings check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from backoffice.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("alice", "alice@example.com", "right-horse-9")


def login(client, password: str, username: str = "alice", address: str = "10.0.0.1") -> bool:
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code == 302


def test_staff_login_locks_out_after_repeated_failures(client, staff_user):
    assert not any(login(client, f"wrong-{n}") for n in range(5))
    assert login(client, "right-horse-9") is False  # locked, even with the right password
    # Another address is locked for this username too; another user from a new address is not.
    assert login(client, "right-horse-9", address="10.0.0.2") is False
    get_user_model().objects.create_superuser("bob", "bob@example.com", "other-horse-7")
    assert login(client, "other-horse-7", username="bob", address="10.0.0.3") is True


def test_behind_a_trusted_proxy_the_address_lockout_is_the_clients_not_the_proxys(
    client, staff_user, settings
):
    # Given the admin behind one proxy that appends the client's address to X-Forwarded-For
    settings.TRUSTED_PROXY_COUNT = 1

    def through_proxy(username: str, password: str, forwarded_for: str) -> bool:
        response = client.post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR="10.0.0.9",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
        return response.status_code == 302

    # When one client sprays five usernames, writing a different false address each time
    assert not any(
        through_proxy(f"user-{n}", "guess", f"192.0.2.{n}, 203.0.113.7") for n in range(5)
    )

    # Then that client is locked out, and another client of the same proxy is not
    assert through_proxy("alice", "right-horse-9", "203.0.113.7") is False
    assert through_proxy("alice", "right-horse-9", "198.51.100.2") is True


def test_successful_login_resets_the_count(client, staff_user):
    assert not any(login(client, f"wrong-{n}") for n in range(3))
    assert login(client, "right-horse-9") is True


def test_api_changes_to_prices_and_channels_are_audited(admin_api, web):
    AuditEntry.objects.all().delete()  # the fixture's own channel
    admin_api.post("/api/v1/admin/channels", {"code": "popup", "kind": "pos"})
    product = admin_api.post(
        "/api/v1/admin/products",
        {
            "name": "Tee",
            "slug": "tee",
            "variants": [{"sku": "T", "price": "10.00"}],
            "listings": [{"channel": "web", "prices": {"T": "9.00"}}],
        },
    ).json()
    admin_api.patch(
        f"/api/v1/admin/products/{product['id']}", {"variants": [{"sku": "T", "price": "12.00"}]}
    )

    entries = list(AuditEntry.objects.order_by("id").values_list("action", "target_id", "actor"))
    assert [e[:2] for e in entries] == [
        ("channel.created", "popup"),
        ("product.created", product["id"]),
        ("product.updated", product["id"]),
    ]
    assert all(actor.startswith("api_key:sk_") for _, _, actor in entries)
    update = AuditEntry.objects.get(action="product.updated")
    assert update.changes["variants"] == [{"sku": "T", "price": "12.00"}]


def test_a_refused_change_leaves_no_audit_row(admin_api, web):
    AuditEntry.objects.all().delete()
    admin_api.post(
        "/api/v1/admin/products",
        {"name": "Tee", "slug": "tee", "variants": [{"sku": "T", "price": "1.999"}]},
    )
    assert not AuditEntry.objects.exists()


def test_staff_can_read_the_audit_trail(admin_client, admin_api, web):
    admin_api.post("/api/v1/admin/channels", {"code": "popup"})
    page = admin_client.get("/admin/audit/auditentry/")
    assert page.status_code == 200
    assert "channel.created" in page.content.decode()
    assert admin_client.get("/admin/admin/logentry/").status_code == 200


def test_deploy_check_is_clean_with_the_documented_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "api.example.com",
        "SECURE_SSL_REDIRECT": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
