"""405 is documented once, for the whole API, not per operation: an OpenAPI operation is a
method a path has, and that method never answers 405; the methods a path lacks have no
operation to list it under. So the schema's description says it, and this test holds every
path to it: each method the schema does not list for a path answers 405 problem+json
`method_not_allowed`, with an `Allow` header naming the methods the schema lists."""

from __future__ import annotations

import re

import pytest

from catalog.models import Channel
from channels_api.models import ApiKey
from delivery.couriers import courier_create
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_warehouse
from tests.openapi import METHODS, PROBLEM, served_schema

pytestmark = pytest.mark.django_db


def test_the_schema_says_a_method_a_path_lacks_answers_405():
    description = served_schema()["info"]["description"]
    assert "A method a path does not have answers 405 `method_not_allowed`, with an `Allow`" in (
        description
    )
    assert not [
        (path, method)
        for path, item in served_schema()["paths"].items()
        for method, operation in item.items()
        if "405" in operation.get("responses", {})
    ]


def test_every_method_a_path_lacks_answers_405_with_the_methods_it_has():
    channel = make_channel("web")
    keys = {
        "/api/v1/admin/": Api(make_key(None, kind=ApiKey.Kind.SECRET)[1]),
        "/api/v1/store/pos/": Api(make_key(make_channel("till", kind=Channel.Kind.POS))[1]),
        "/api/v1/store/": Api(make_key(channel)[1]),
        "/api/v1/fulfiller/": Api(courier_create(name="Sam", warehouses=[make_warehouse()])[1]),
    }
    checked, wrong = 0, []
    for path, item in served_schema()["paths"].items():
        api = next((api for prefix, api in keys.items() if path.startswith(prefix)), None)
        api = api or Api()
        url = re.sub(r"\{[^}]+\}", "1", path)
        listed = {method.upper() for method in METHODS if method in item}
        for method in sorted({m.upper() for m in METHODS} - listed):
            response = api.generic(method, url, "{}", content_type="application/json")
            checked += 1
            allowed = {m.strip() for m in response.get("Allow", "").split(",")} - {
                "HEAD",
                "OPTIONS",
            }
            if (
                response.status_code != 405
                or response["Content-Type"] != PROBLEM
                or response.json()["code"] != "method_not_allowed"
                or allowed != listed
            ):
                wrong.append((method, path, response.status_code, response.get("Allow")))
    assert checked > 100
    assert wrong == [], "\n".join(map(str, wrong))
