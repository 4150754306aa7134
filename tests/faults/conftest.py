"""Fault tests run the real app under gunicorn against the test database, then break things."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connections

# Real Celery workers, a private Redis and a webhook receiver, as the outbox tests use them.
from tests.outbox.conftest import make_receiver, private_redis, start_celery  # noqa: F401
from tests.processes import STARTUP_SECONDS, free_port, running_database_url, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


database_url = running_database_url


@dataclass
class AppServer:
    process: subprocess.Popen
    url: str
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        wait_healthy(self.url, log=self.log, timeout=timeout)


@pytest.fixture
def app_server(tmp_path, db) -> Iterator[callable]:
    """Start gunicorn (production settings) on a free loopback port; stopped after the test."""
    servers: list[AppServer] = []

    def start(workers: int = 2, **env: str) -> AppServer:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "0",
            "API_RATE_LIMIT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_CONN_MAX_AGE": "60",
            **env,
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "backoffice.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        server = AppServer(process=process, url=f"http://127.0.0.1:{port}", log=log)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    connections.close_all()


def run_as_postgres(*command: str) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def restart_postgres(request):
    """Restart the throwaway PostgreSQL cluster that `make test` started (fast shutdown).

    Every worker's database is in that cluster: the test runs alone (marked `serial`)."""
    if request.node.get_closest_marker("serial") is None:
        pytest.fail("a test that restarts PostgreSQL must be marked serial (tests/workers.py)")
    data = os.environ.get("TEST_PG_DATA")
    if not data:
        pytest.fail("TEST_PG_DATA is not set: run the suite with `make test`.")

    log = os.path.join(os.environ["TEST_PG_SOCKET_DIR"], "pg.log")

    def restart() -> None:
        # -l: the restarted server must not hold our output pipe open.
        result = run_as_postgres(
            "pg_ctl", "-D", data, "-l", log, "-m", "fast", "-w", "-t", "60", "restart"
        )
        assert result.returncode == 0, result.stdout + result.stderr

    return restart
