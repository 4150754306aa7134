"""Helpers for tests that run the app in processes of its own: ports, health, manage.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How long a server or worker the test starts may take to come up: on a loaded machine
# (the suite on several workers, beside other work) a Python process can take far longer
# than alone. Only a start-up waits this long; the behaviour under test keeps its own limits.
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(
    url: str,
    *,
    log: Path,
    timeout: float = STARTUP_SECONDS,
    process: subprocess.Popen | None = None,
) -> None:
    """Poll `url`/healthz until it answers 200; fail with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer within {timeout} s:\n{log.read_text()[-3000:]}")


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group a `start_new_session` process leads, then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)


def manage_py(*arguments: str, env: dict[str, str], timeout: float = 300):
    """`python manage.py ...` in the checkout with exactly `env`; the finished process."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def running_database_url() -> str:
    """The database the running test uses (pytest-django's test database), as a URL."""
    from django.db import connection

    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def django_elsewhere(code: str, *, timeout: float = 120) -> str:
    """Run `code` in a Django process of its own on the test's database (its own
    connection, its own commits, its own in-process caches); its stdout."""
    result = manage_py(
        "shell",
        "--no-imports",
        "-c",
        code,
        env={**os.environ, "DATABASE_URL": running_database_url()},
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
