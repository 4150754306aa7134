"""The served OpenAPI schema as tests read it: its operations and the codes each one lists."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from django.test import Client
from django.urls import Resolver404, resolve

SCHEMA_URL = "/api/v1/schema/?format=json"
METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = "application/problem+json"


@cache
def served_schema() -> dict[str, Any]:
    """What `GET /api/v1/schema/` serves, as JSON (generated once per test run)."""
    response = Client().get(SCHEMA_URL)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def listed_codes(operation: dict[str, Any], status: int | str) -> set[str]:
    """The problem codes the operation lists under `status` (one example per code)."""
    response = operation["responses"].get(str(status), {})
    examples = response.get("content", {}).get(PROBLEM, {}).get("examples", {})
    return {example["value"]["code"] for example in examples.values()}


def path_template(route: str) -> str:
    """A Django route as the schema writes its path (drf-spectacular names `pk` `id`)."""
    template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.lstrip("/"))
    return "/" + template.replace("{pk}", "{id}")


def operation_at(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The schema operation a request to `path` calls, with its templated path; None if none."""
    try:
        template = path_template(resolve(path).route)
    except Resolver404:
        return None
    operation = served_schema()["paths"].get(template, {}).get(method.lower())
    return (template, operation) if operation else None
