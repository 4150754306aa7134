"""A checkout's answer is rendered once: the JSON stored for its Idempotency-Key is the JSON
its client gets (channels_api/renderers.py), and a replay answers the same."""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework import renderers

from channels_api.models import IdempotencyRecord
from tests.orders.test_checkout import ADDRESS, CHECKOUT

pytestmark = pytest.mark.django_db

BODY = {
    "lines": [{"sku": "TEE", "quantity": 1}],
    "email": "ada@example.com",
    "shipping_address": ADDRESS,
    "shipping_method": "standard",
    "payment": {"provider": "test", "token": "tok_approve"},
}
REFUSED = {**BODY, "lines": [{"sku": "TEE", "quantity": 1000}]}  # more than there is


@pytest.fixture
def renders(monkeypatch) -> list[object]:
    """The JSON renderings of DRF's renderer (the API's renders through it) of anything but
    the test's own request bodies (the test client renders them with it too)."""
    rendered: list[object] = []
    render = renderers.JSONRenderer.render

    def counted(self, data, *args, **kwargs):
        if data is not BODY and data is not REFUSED:
            rendered.append(data)
        return render(self, data, *args, **kwargs)

    monkeypatch.setattr(renderers.JSONRenderer, "render", counted)
    return rendered


def test_a_checkout_renders_its_answer_once_for_the_record_and_the_client(web_api, renders):
    key = str(uuid.uuid4())

    response = web_api.post(CHECKOUT, BODY, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 201
    assert len(renders) == 1
    record = IdempotencyRecord.objects.get(key=key)
    assert record.response_status == 201
    assert record.response_body == json.loads(response.content)
    assert response["Content-Type"] == "application/json"

    replay = web_api.post(CHECKOUT, BODY, HTTP_IDEMPOTENCY_KEY=key)
    assert replay["Idempotent-Replayed"] == "true"
    assert json.loads(replay.content) == json.loads(response.content)


def test_an_indented_answer_is_rendered_for_the_client_and_stored_the_same(web_api, renders):
    key = str(uuid.uuid4())

    response = web_api.post(
        CHECKOUT, BODY, HTTP_IDEMPOTENCY_KEY=key, HTTP_ACCEPT="application/json; indent=2"
    )

    assert response.status_code == 201
    assert response.content.startswith(b'{\n  "')
    assert len(renders) == 2  # the record's, and the client's own indented one
    stored = IdempotencyRecord.objects.get(key=key).response_body
    assert stored == json.loads(response.content)


def test_a_refusal_is_stored_as_the_problem_its_client_gets(web_api, renders):
    key = str(uuid.uuid4())

    response = web_api.post(CHECKOUT, REFUSED, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert len(renders) == 1
    record = IdempotencyRecord.objects.get(key=key)
    assert (record.response_status, record.response_body) == (409, json.loads(response.content))
