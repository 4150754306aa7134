"""Schema fuzzing: schemathesis generates requests for every operation of the served schema,
valid and invalid ones (Idempotency-Key included), with a publishable and a secret key: no
5xx, every answer's status and body are the schema's, errors are problem+json with a code the
schema lists for that operation and status, a 400 `invalid` names what is invalid (and no
input reaches the database unchecked: the autouse guard of tests/conftest.py).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from backoffice.wsgi import application
from channels_api.models import ApiKey
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive
from tests.openapi import listed_codes, served_schema

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@schemathesis.check
def errors_are_problem_json(ctx, response, case) -> None:
    if response.status_code >= 400:
        headers = {name.lower(): value for name, value in response.headers.items()}
        content_type = headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (
            f"{response.status_code} answered as {content_type!r}"
        )
        body = response.json()
        assert body["status"] == response.status_code and body["code"], body


@schemathesis.check
def problem_code_is_listed(ctx, response, case) -> None:
    if response.status_code < 400:
        return
    code = response.json()["code"]
    operation = served_schema()["paths"][case.path].get(case.method.lower())
    if operation is None:  # a method the path does not have (schemathesis tries TRACE): no
        return  # operation to list codes; the answer is still problem+json (checked above)
    listed = listed_codes(operation, response.status_code)
    assert code in listed, f"{response.status_code} `{code}` is not listed; listed: {listed}"


@schemathesis.check
def invalid_names_a_field(ctx, response, case) -> None:
    if response.status_code == 400 and response.json().get("code") == "invalid":
        assert response.json().get("errors"), response.json()


@pytest.fixture
def in_process_requests():
    """Like Django's test client: requests must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def keys(db, in_process_requests):
    web = make_channel("web")
    warehouse = make_warehouse("main", channels=[web])
    variant = make_product(slug="tee", skus={"TEE": "10.00"}, channels=[web]).variants.get()
    receive(variant, warehouse, 5)
    return {
        "publishable": make_key(web, rate_limit=0)[1],
        "secret": make_key(None, kind=ApiKey.Kind.SECRET, rate_limit=0)[1],
    }


@pytest.mark.serial(
    reason="schemathesis gives its 113 operations one node id, and pytest-xdist keys the work "
    "it hands out by node id: on workers only one operation would run"
)
@pytest.mark.django_db(transaction=True)  # each request commits on its own, as in production
@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_holds_under_generated_input(case, keys):
    audience = "secret" if case.path.startswith("/api/v1/admin") else "publishable"
    case.call_and_validate(
        headers={"Authorization": f"Bearer {keys[audience]}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            response_schema_conformance,
            errors_are_problem_json,
            problem_code_is_listed,
            invalid_names_a_field,
        ],
    )
