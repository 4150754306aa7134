"""Fixtures for webhook tests: a local HTTP receiver, real Celery workers, private brokers."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction

from backoffice.jobs import BrokerBreaker
from backoffice.outbox.models import OutboxEvent, WebhookEndpoint
from backoffice.outbox.services import event_record
from backoffice.outbox.webhook_services import webhook_endpoint_create
from tests.processes import STARTUP_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 30


def wait_until(condition: Callable[[], object], *, timeout: float = DEADLINE_SECONDS, step=0.1):
    """Poll until `condition()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Condition not met within {timeout} s.")
        time.sleep(step)


def record(type: str = "stock.low", channel_code: str = "", **data) -> OutboxEvent:
    """Record an event the way a service does: inside its own transaction."""
    with transaction.atomic():
        return event_record(
            type=type,
            aggregate=f"test:{uuid.uuid4().hex[:8]}",
            data=data or {"sku": "TEE-S", "available": 2},
            channel_code=channel_code,
        )


def endpoint_for(receiver: Receiver, events=("*",), channel_code: str = "") -> WebhookEndpoint:
    return webhook_endpoint_create(
        url=receiver.url, event_types=list(events), channel_code=channel_code
    )


@pytest.fixture(autouse=True)
def _close_nudge_breaker():
    """A test that saw the broker down must not silence the nudges of the next one."""
    BrokerBreaker.paused_until = 0.0
    yield
    BrokerBreaker.paused_until = 0.0


# --- A local webhook receiver ------------------------------------------------------------
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers `statuses` in turn, then `status`; may sleep or block."""

    status: int = 200
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    block_first: bool = False
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def wait_for(self, count: int, timeout: float = DEADLINE_SECONDS) -> list[Received]:
        wait_until(lambda: len(self.requests) >= count, timeout=timeout)
        return self.requests


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        first = not receiver.requests
        receiver.requests.append(Received(self.path, dict(self.headers), body))
        if receiver.block_first and first:
            receiver.release.wait(DEADLINE_SECONDS)
        if receiver.delay:
            time.sleep(receiver.delay)
        status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender went away (timed out or was killed)

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on 127.0.0.1 (a free port each); all are stopped after the test."""
    receivers: list[Receiver] = []

    def start(**options) -> Receiver:
        receiver = Receiver(**options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.receiver = receiver
        receiver.server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def receiver(make_receiver) -> Receiver:
    return make_receiver()


# --- Brokers and real Celery workers --------------------------------------------------------
@contextmanager
def app_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (and settings) at another broker, then back.

    Celery's `broker_url` prefers the CELERY_BROKER_URL environment variable, so the
    read and write URLs, which win over it, are the ones switched.
    """
    from django.test import override_settings

    from backoffice.celery import app

    def switch(broker_url: str | None) -> None:
        # kombu keeps one pool per URL for the whole process: drop the app's references
        # only (closing would leave a closed pool registered under that URL).
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_write_url = broker_url
        app.conf.broker_read_url = broker_url

    previous = app.conf.get("broker_write_url")
    switch(url)
    try:
        with override_settings(CELERY_BROKER_URL=url):
            yield
    finally:
        switch(previous)


class RedisServer:
    """A private redis-server on a free loopback port, that a test may stop and start."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(client), timeout=STARTUP_SECONDS)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:  # stopped also when it never answered
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def test_broker() -> Iterator[str]:
    """A Redis database of the test Redis of our own, emptied first; the app sends there."""
    port = int(os.environ["TEST_REDIS_PORT"])
    url = f"redis://127.0.0.1:{port}/7"
    redis.Redis(port=port, db=7).flushdb()
    with app_broker(url):
        yield url


def queued_tasks(broker_url: str) -> list[tuple[str, list]]:
    """The messages waiting in a Redis broker's default queue, oldest first: (task, args)."""
    client = redis.Redis.from_url(broker_url)
    messages = [json.loads(raw) for raw in reversed(client.lrange("celery", 0, -1))]
    return [
        (message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0])
        for message in messages
    ]


@pytest.fixture
def published() -> Iterator[list[str]]:
    """The names of the tasks this process sends to a broker (Celery's own signal), in order."""
    from celery.signals import before_task_publish

    names: list[str] = []

    def remember(sender: str | None = None, **_: object) -> None:
        names.append(sender)

    before_task_publish.connect(remember, weak=False)
    try:
        yield names
    finally:
        before_task_publish.disconnect(remember)


class CeleryProcess:
    """A `celery worker` or `celery beat` this test started, with its log."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing cleaned up."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def database_url() -> str:
    """The test database as pytest-django named it, for another process."""
    settings = connection.settings_dict
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture
def start_celery(transactional_db, tmp_path) -> Iterator[Callable[..., CeleryProcess]]:
    """Start `celery worker --pool=solo` (or `pool=`) or `celery beat` on the test database.

    Tests that use it commit their rows (transaction=True) so the worker sees them;
    every process started is stopped afterwards, before the database is flushed.
    """
    started: list[CeleryProcess] = []

    def start(kind: str, broker_url: str, pool: str = "solo", **env: str) -> CeleryProcess:
        number = len(started)
        log = tmp_path / f"{kind}-{number}.log"
        if kind == "worker":
            arguments = [
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "-Q",
                "celery",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test{number}@%h",
            ]
            ready = " ready."
        else:
            arguments = ["beat", "-s", str(tmp_path / f"beat-schedule-{number}")]
            ready = "beat: Starting..."
        environment = {
            **os.environ,
            "DEBUG": "0",
            "DATABASE_URL": database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
            **env,
        }
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "backoffice", *arguments, "--loglevel=INFO"],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        celery = CeleryProcess(process, log)
        started.append(celery)
        try:
            wait_until(
                lambda: ready in celery.output() or process.poll() is not None,
                timeout=STARTUP_SECONDS,
            )
        except AssertionError:
            raise AssertionError(f"celery {kind} did not start:\n{celery.output()}") from None
        assert process.poll() is None, celery.output()
        return celery

    yield start
    for celery in started:
        celery.stop()
