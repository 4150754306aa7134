"""An ASGI server of the app for stream tests, and a small SSE client."""

from __future__ import annotations

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.conftest import database_url
from tests.outbox.conftest import free_port
from tests.processes import STARTUP_SECONDS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AsgiServer:
    process: subprocess.Popen
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def asgi_server(transactional_db, tmp_path) -> Iterator[AsgiServer]:
    """uvicorn serving backoffice.asgi on the test database and the test Redis."""
    port = free_port()
    log = tmp_path / "uvicorn.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "API_RATE_LIMIT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_CONN_MAX_AGE": "0",
        "STREAM_HEARTBEAT_SECONDS": "1",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backoffice.asgi:application",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = AsgiServer(process, port, log)
    try:  # stopped however the test ends, also when it never came up
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"uvicorn did not start:\n{server.output()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class SseEvent:
    id: str | None
    type: str
    data: dict
    received_at: float = 0.0


@dataclass
class SseClient:
    """Reads a stream on a thread of its own; `events` fills as they come."""

    status: int
    headers: dict
    events: queue.Queue = field(default_factory=queue.Queue)
    comments: list[str] = field(default_factory=list)
    connection: http.client.HTTPConnection | None = None
    body: bytes = b""

    def next(self, timeout: float = 10) -> SseEvent:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def open_stream(port: int, path: str, key: str, last_event_id: str | None = None) -> SseClient:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    headers_seen = {name.lower(): value for name, value in response.getheaders()}
    client = SseClient(response.status, headers_seen, connection=connection)
    if response.status != 200:
        client.body = response.read()
        return client

    def read() -> None:
        event: dict = {}
        try:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "data" in event:
                        client.events.put(
                            SseEvent(
                                event.get("id"),
                                event.get("event", "message"),
                                json.loads(event["data"]),
                                time.monotonic(),
                            )
                        )
                    event = {}
                elif line.startswith(":"):
                    client.comments.append(line)
                else:
                    name, _, value = line.partition(": ")
                    event[name] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return

    threading.Thread(target=read, daemon=True).start()
    return client
