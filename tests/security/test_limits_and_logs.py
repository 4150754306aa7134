"""Resource limits on carts and checkout, and secrets that never reach the logs."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from channels_api.models import ApiKey
from orders.models import Cart, Order
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db


@override_settings(CART_MAX_LINES=1, CART_MAX_QUANTITY=5)
def test_carts_and_checkouts_are_capped_in_lines_and_units(web_api, shop):
    two_lines = [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 1}]
    for path in ("/api/v1/store/checkout", "/api/v1/store/carts"):
        assert_problem(web_api.post(path, {"lines": two_lines}), 400, "invalid")
        body = assert_problem(
            web_api.post(path, {"lines": [{"sku": "MUG", "quantity": 6}]}), 400, "invalid"
        )
        assert any(key.startswith("lines") for key in body["errors"])
    assert not Order.objects.exists() and not Cart.objects.exists()


def test_secrets_never_reach_the_logs(caplog, web, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    caplog.set_level(logging.DEBUG)
    _, publishable = make_key(web)
    _, secret = make_key(None, kind=ApiKey.Kind.SECRET)
    revoked, revoked_raw = make_key(web)
    revoked.revoke()

    Api(publishable).get("/api/v1/store/products")
    Api(publishable).get("/api/v1/admin/orders")  # 403
    Api(revoked_raw).get("/api/v1/store/products")  # 401
    Api(publishable + "x").get("/api/v1/store/products")  # 401
    admin = Api(secret)
    created = admin.post(
        "/api/v1/admin/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    ).json()
    rotated = admin.post(f"/api/v1/admin/webhooks/{created['id']}/rotate-secret", {}).json()
    admin.post("/api/v1/admin/channels", {"code": "Bad Code"})  # 400
    fulfiller = admin.post("/api/v1/admin/fulfillers", {"name": "x", "orders": ["999"]})

    secrets = [publishable, secret, revoked_raw, created["secret"], rotated["secret"]]
    secrets += [fulfiller.json().get("token", "")] if fulfiller.status_code == 201 else []
    leaked = [value[:12] + "…" for value in secrets if value and value in caplog.text]
    assert leaked == []
    assert "Unauthorized" in caplog.text  # the log did record the refusals
