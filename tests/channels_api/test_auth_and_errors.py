"""Authentication, audiences, and problem+json for every error."""

from __future__ import annotations

import pytest
from django.test import override_settings

from channels_api.models import ApiKey
from tests.conftest import Api
from tests.factories import make_channel, make_key

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/store/products"
CHANNELS = "/api/v1/admin/channels"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    return body


def test_missing_key_is_401(anonymous_api):
    response = anonymous_api.get(PRODUCTS)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer pk_wrong", "Bearer ", "Basic abc", "pk_raw"])
def test_wrong_key_is_401(web, header):
    client = Api()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_problem(client.get(PRODUCTS), 401, "not_authenticated")


def test_revoked_key_is_401(web):
    api_key, raw = make_key(web)
    assert Api(raw).get(PRODUCTS).status_code == 200
    api_key.revoke()
    assert_problem(Api(raw).get(PRODUCTS), 401, "not_authenticated")


def test_key_of_inactive_channel_is_401(web, store_api):
    web.active = False
    web.save()
    assert_problem(store_api.get(PRODUCTS), 401, "not_authenticated")


def test_publishable_key_on_admin_is_403(store_api):
    assert_problem(store_api.get(CHANNELS), 403, "permission_denied")


def test_secret_key_on_store_is_403(admin_api):
    assert_problem(admin_api.get(PRODUCTS), 403, "permission_denied")


def test_keys_are_stored_hashed_with_a_visible_prefix(web):
    api_key, raw = make_key(web)
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw.startswith("pk_") and len(raw) > 40
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)
    assert stored.last_used_at is None
    Api(raw).get(PRODUCTS)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_unknown_api_path_is_problem_404(store_api):
    assert_problem(store_api.get("/api/v1/store/nothing-here"), 404, "not_found")
    assert_problem(store_api.get("/api/v2/anything"), 404, "not_found")


def test_unknown_path_outside_the_api_is_problem_404(anonymous_api):
    assert_problem(anonymous_api.get("/no-such-page"), 404, "not_found")


def test_wrong_method_is_405(store_api):
    assert_problem(store_api.delete(PRODUCTS), 405, "method_not_allowed")


def test_oversized_body_is_413_and_changes_nothing(admin_api):
    from catalog.models import Channel

    before = Channel.objects.count()
    response = admin_api.post(CHANNELS, {"code": "big", "name": "x" * (1024 * 1024 + 10)})
    assert_problem(response, 413, "payload_too_large")
    assert Channel.objects.count() == before


def test_malformed_json_is_400(admin_api):
    response = admin_api.generic("POST", CHANNELS, "{not json", content_type="application/json")
    body = assert_problem(response, 400, "parse_error")
    assert "JSON" in body["detail"]


def test_validation_errors_name_the_fields(admin_api):
    body = assert_problem(
        admin_api.post(CHANNELS, {"code": "Bad Code!", "kind": "fax"}), 400, "invalid"
    )
    assert set(body["errors"]) == {"code", "kind"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_unhandled_error_is_problem_500_without_a_trace(admin_api, monkeypatch):
    from channels_api.admin_api import catalog_views

    def explode():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(catalog_views, "channel_list", explode)
    client = admin_api
    client.raise_request_exception = False
    body = assert_problem(client.get(CHANNELS), 500, "server_error")
    assert "secret internals" not in str(body)


def test_rate_limit_per_key_answers_429_with_retry_after(web, one_rate_window):
    _, raw = make_key(web, rate_limit=3)
    client = Api(raw)
    statuses = [client.get(PRODUCTS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(PRODUCTS)
    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "30"  # the window ends 30 s after the frozen clock
    # Another key is not affected.
    assert Api(make_key(web)[1]).get(PRODUCTS).status_code == 200


@override_settings(API_RATE_LIMIT=2)
def test_default_rate_limit_comes_from_settings(web, one_rate_window):
    client = Api(make_key(web)[1])
    assert [client.get(PRODUCTS).status_code for _ in range(3)] == [200, 200, 429]


@override_settings(API_RATE_LIMIT=0)
def test_rate_limit_zero_turns_limiting_off(web):
    client = Api(make_key(web)[1])
    assert {client.get(PRODUCTS).status_code for _ in range(5)} == {200}


def test_channel_limited_secret_key_sees_only_its_channel(web):
    other = make_channel("other")
    client = Api(make_key(web, kind=ApiKey.Kind.SECRET)[1])
    assert [c["code"] for c in client.get(CHANNELS).json()["results"]] == ["web"]
    assert_problem(client.post(CHANNELS, {"code": "new"}), 403, "permission_denied")
    assert other.code == "other"


def test_health_and_readiness(anonymous_api):
    assert anonymous_api.get("/healthz").json() == {"status": "ok"}
    response = anonymous_api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] is True


def test_schema_and_docs_are_served(anonymous_api):
    schema = anonymous_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/store/products" in paths
    assert "/api/v1/admin/products/{id}" in paths
    assert anonymous_api.get("/api/v1/docs/").status_code == 200


def test_static_assets_of_the_admin_and_docs_are_served_without_debug(anonymous_api):
    from django.conf import settings

    assert settings.DEBUG is False
    for path in (
        "/static/admin/css/base.css",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ):
        response = anonymous_api.get(path)
        assert response.status_code == 200, path
