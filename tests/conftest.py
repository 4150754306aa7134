"""Shared fixtures: channels, keys and API clients for both audiences."""

from __future__ import annotations

import logging

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from rest_framework.test import APIClient

from backoffice.celery import app
from catalog.models import Channel
from channels_api.exceptions import DATABASE_REFUSAL
from channels_api.models import ApiKey
from tests.factories import make_channel, make_key
from tests.problem_guard import _record_answers, answers_match_the_schema  # noqa: F401

# The shop with stores, orders and a staff member per role (`shop`, `staff`); what each
# worker of a parallel run has of its own, and the `serial` phase (tests/workers.py).
pytest_plugins = ["tests.shop_world", "tests.workers"]

# The live test server must accept a burst of 100 simultaneous connections, as gunicorn would.
ThreadedWSGIServer.request_queue_size = 256


class Api(APIClient):
    """An API client that sends JSON and knows its key."""

    def __init__(self, raw_key: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.raw_key = raw_key
        if raw_key:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def post(self, path, data=None, format="json", **kwargs):
        return super().post(path, data, format=format, **kwargs)

    def patch(self, path, data=None, format="json", **kwargs):
        return super().patch(path, data, format=format, **kwargs)

    def put(self, path, data=None, format="json", **kwargs):
        return super().put(path, data, format=format, **kwargs)


@pytest.fixture
def web(db) -> Channel:
    return make_channel("web", kind=Channel.Kind.WEB)


@pytest.fixture
def instagram(db) -> Channel:
    return make_channel("instagram", kind=Channel.Kind.INSTAGRAM)


@pytest.fixture
def store_api(web) -> Api:
    """A publishable key of the `web` channel."""
    return Api(make_key(web)[1])


@pytest.fixture
def admin_api(db) -> Api:
    """An unrestricted secret key."""
    return Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])


@pytest.fixture
def anonymous_api() -> Api:
    return Api()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; each test starts from zero."""
    from django.core.cache import cache

    from backoffice.jobs import BrokerBreaker

    cache.clear()
    BrokerBreaker.paused_until = 0.0  # a test that saw the broker down must not mute the next
    yield


class _Refusals(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(DATABASE_REFUSAL):
            self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def _input_is_checked_before_the_database(request):
    """No test input reaches the database's own refusal (a DataError answered 400 without
    naming the field): inputs are checked against their columns first. A test that means
    to reach it is marked `database_refusal`."""
    handler = _Refusals()
    logger = logging.getLogger("channels_api.exceptions")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    if request.node.get_closest_marker("database_refusal") is None:
        assert handler.messages == [], "input reached the database unchecked"


@pytest.fixture
def one_rate_window(monkeypatch):
    """Rate limits count per clock minute: keep a test's requests inside one window."""
    import time as real_time

    import channels_api.throttling as throttling

    start = (real_time.time() // 60) * 60 + 30

    class Clock:
        @staticmethod
        def time() -> float:
            return start

    monkeypatch.setattr(throttling, "time", Clock)


@pytest.fixture
def no_broker():
    """Tasks run in this process, as under `make run` (no broker configured)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
