"""Every answer a test gets from an operation of the schema is one the schema lists.

A pytest plugin (tests/conftest.py loads it). It records each answer the app gives in this
process (the test client and the live server alike) and, when a test ends, fails it if an
answer's status is not listed for its operation, or if an error answer is not problem+json
with a code listed under that status. So the codes the schema lists are kept true by every
API test in the suite: a view that starts raising an undeclared business error breaks the
first test that provokes it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from django.core.handlers.base import BaseHandler

from tests.openapi import PROBLEM, listed_codes, operation_at


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    status: int
    content_type: str
    code: str | None


_answers: list[Answer] = []
_lock = threading.Lock()


def _code(response) -> str | None:
    if response.status_code < 400 or getattr(response, "streaming", False):
        return None
    try:
        return json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        return None


def _recording(get_response):
    def record(self, request):
        response = get_response(self, request)
        answer = Answer(
            method=request.method,
            path=request.path_info,
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            code=_code(response),
        )
        with _lock:
            _answers.append(answer)
        return response

    return record


def undocumented(answers: list[Answer]) -> list[str]:
    """What in these answers the schema does not list, one line each."""
    found = []
    for answer in answers:
        operation = operation_at(answer.method, answer.path)
        if operation is None:  # not an API operation: admin pages, /l/ links, unknown paths
            continue
        template, details = operation
        where = f"{answer.method} {template} ({details['operationId']}) answered {answer.status}"
        if str(answer.status) not in details["responses"]:
            found.append(f"{where}, a status the schema does not list")
        elif answer.status >= 400 and not answer.content_type.startswith(PROBLEM):
            found.append(f"{where} as {answer.content_type!r}, not {PROBLEM}")
        elif answer.status >= 400 and answer.code not in listed_codes(details, answer.status):
            found.append(f"{where} `{answer.code}`, a code the schema does not list there")
    return sorted(set(found))


@pytest.fixture(scope="session", autouse=True)
def _record_answers():
    original = BaseHandler.get_response
    BaseHandler.get_response = _recording(original)
    yield
    BaseHandler.get_response = original


@pytest.fixture(autouse=True)
def answers_match_the_schema(_record_answers):
    """Fails the test, at teardown, when the app answered something the schema does not list."""
    with _lock:
        _answers.clear()
    yield
    with _lock:
        answers = list(_answers)
        _answers.clear()
    problems = undocumented(answers)
    if problems:
        pytest.fail("The OpenAPI schema does not list:\n" + "\n".join(problems), pytrace=False)
