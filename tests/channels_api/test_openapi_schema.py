"""The served OpenAPI schema is one that generated clients can rely on.

It passes openapi-spec-validator; every idempotent POST declares `Idempotency-Key`; every
operation documents its error answers as problem+json with the codes it can answer (each
code one the exception handler really gives); and every operation has texts of its own.
What the views answer in reality is checked against the schema by the fuzzing test
(tests/security/test_schema_fuzzing.py) and by every API test of the suite
(tests/problem_guard.py).
"""

from __future__ import annotations

import inspect

import yaml
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate
from rest_framework import exceptions

from backoffice.exceptions import DomainError
from channels_api.exceptions import status_and_code
from channels_api.idempotency import HEADER, MAX_KEY_LENGTH, REPLAY_HEADER
from channels_api.schema.problems import NOT_REPLAYED
from tests.openapi import PROBLEM, listed_codes, operations, path_template, served_schema


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for subclass in list(found):
        found |= _all_subclasses(subclass)
    return found


def _api_views() -> list[tuple[str, type]]:
    """(templated path, view class) of every route under /api/v1/."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "view_class"):
                found.append((route, pattern.callback.view_class))

    walk(get_resolver().url_patterns, "/")
    return [(route, view) for route, view in found if route.startswith("/api/v1/")]


def test_the_served_schema_passes_openapi_spec_validator():
    # Given the schema as a generator fetches it, in both the default (YAML) and JSON forms
    as_yaml = yaml.safe_load(Client().get("/api/v1/schema/").content)

    # Then the validator finds nothing wrong with either (it raises on the first error)
    validate(as_yaml)
    validate(served_schema())
    assert as_yaml == served_schema()


def test_every_idempotent_post_declares_the_idempotency_key_header():
    # Given the POST handlers that honour Idempotency-Key (decorated with @idempotent)
    idempotent_paths = {
        path_template(route)
        for route, view in _api_views()
        if getattr(getattr(view, "post", None), "idempotent", False)
    }
    assert "/api/v1/store/checkout" in idempotent_paths and len(idempotent_paths) >= 36

    # Then exactly their operations declare the optional header, with its rules
    declaring = {}
    for path, method, operation in operations(served_schema()):
        header = [p for p in operation.get("parameters", []) if p["name"] == HEADER]
        if header:
            declaring[(path, method)] = header[0]
    assert set(declaring) == {(path, "post") for path in idempotent_paths}
    for parameter in declaring.values():
        assert parameter["in"] == "header" and not parameter.get("required", False)
        assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
        assert str(MAX_KEY_LENGTH) in parameter["description"]
        assert "scoped to the credential that sends it" in parameter["description"]
        assert REPLAY_HEADER in parameter["description"]


def test_idempotent_answers_declare_the_replay_header_and_429_the_retry_after_header():
    # Answers given before the handler runs, or never stored, are never a replay; a status
    # that also holds a business refusal (422 `outside_delivery_area`) may be one;
    # a PSP that does not answer (503) is told before the order's transaction, never stored.
    never_replayed = {"401", "406", "413", "415", "429", "500", "503"}
    for path, method, operation in operations(served_schema()):
        responses = operation["responses"]
        idempotent = any(p["name"] == HEADER for p in operation.get("parameters", []))
        for status, response in responses.items():
            replay = REPLAY_HEADER in response.get("headers", {})
            codes = listed_codes(operation, status)
            stored = codes - NOT_REPLAYED
            if not idempotent or status in never_replayed or (codes and not stored):
                assert not replay, (path, method, status)
            elif status < "300" or stored:
                assert replay, (path, method, status)
        retry_after = responses["429"]["headers"]["Retry-After"]
        assert retry_after["schema"] == {"type": "integer", "minimum": 1}, (path, method)
    checkout = served_schema()["paths"]["/api/v1/store/checkout"]["post"]["responses"]
    assert {s for s, r in checkout.items() if REPLAY_HEADER in r.get("headers", {})} == {
        "201", "400", "402", "403", "409", "422",
    }  # fmt: skip


def test_every_error_answer_is_a_shared_problem_document():
    schema = served_schema()
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert problem["properties"]["errors"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    for path, method, operation in operations(schema):
        errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
        # Every operation can be refused its key, rate-limited or fail on our side.
        assert {"401", "403", "429", "500"} <= set(errors), (path, method)
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM], (path, method, status)
            content = response["content"][PROBLEM]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert listed_codes(operation, status), (path, method, status)
            for code in listed_codes(operation, status):
                assert f"`{code}`" in response["description"], (path, method, status, code)


def test_every_listed_code_is_one_the_exception_handler_gives_with_that_status():
    # Given every (status, code) an exception can become: the business errors and the
    # handler's table of framework exceptions
    real = {(cls.status, cls.code) for cls in _all_subclasses(DomainError)}
    real |= {status_and_code(cls) for cls in _all_subclasses(exceptions.APIException)}
    real |= {
        status_and_code(cls)
        for cls in (Http404, DjangoPermissionDenied, RequestDataTooBig, DataError, Exception)
    }

    # Then every code the schema lists under a status is one of them
    listed = {
        (int(status), code)
        for _, _, operation in operations(served_schema())
        for status in operation["responses"]
        if status >= "400"
        for code in listed_codes(operation, status)
    }
    assert listed <= real, listed - real
    assert {(409, "insufficient_stock"), (402, "payment_declined"), (410, "link_expired")} <= listed


def test_business_errors_are_listed_only_where_a_view_declares_them():
    checkout = served_schema()["paths"]["/api/v1/store/checkout"]["post"]
    assert listed_codes(checkout, 409) == {
        "idempotency_key_in_use",
        "insufficient_stock",
        "voucher_unavailable",
        "delivery_closed",
        "delivery_slot_full",
    }
    assert listed_codes(checkout, 402) == {"payment_declined"}
    products = served_schema()["paths"]["/api/v1/store/products"]["get"]
    assert "409" not in products["responses"] and "404" not in products["responses"]


def test_every_operation_has_a_summary_and_a_description_of_its_own():
    base_docstrings = {
        inspect.cleandoc(cls.__doc__)
        for _, view in _api_views()
        for cls in view.__mro__
        if cls.__doc__
    }
    summaries = set()
    for path, method, operation in operations(served_schema()):
        summary, description = operation.get("summary"), operation.get("description", "")
        assert summary and summary not in summaries, (path, method, summary)
        summaries.add(summary)
        written = description.split("\n\n**Key:**")[0]
        assert written and written.strip() not in base_docstrings, (path, method)
        assert not any(doc in description for doc in base_docstrings), (path, method)
        assert "**Key:**" in description, (path, method)
        assert ("**Idempotent:**" in description) == (
            any(p["name"] == HEADER for p in operation.get("parameters", []))
        )
