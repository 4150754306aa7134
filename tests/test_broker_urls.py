"""Every broker URL form the settings take works, or stops the start with a clear error
(backoffice/broker.py): a process of its own is started with CELERY_BROKER_URL set, sends a
task through the app as a request would, and the message is read back from a real Redis
(one on TLS, one on a Unix socket, started here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.outbox.conftest import queued_tasks
from tests.processes import ROOT, free_port

SEND = """
import json, django
django.setup()
from django.conf import settings
from backoffice.celery import app
from backoffice.jobs import send_now
sent = send_now("tests.broker_urls.probe", 7)
with app.producer_or_acquire() as producer:
    channel = type(producer.channel)
print(json.dumps({"sent": sent, "channel": f"{channel.__module__}.{channel.__name__}",
                  "ssl": repr(getattr(settings, "CELERY_BROKER_USE_SSL", None))}))
"""


def _send_with(broker_url: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", SEND], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def _redis_server(directory: Path, *arguments: str) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--save", "", "--appendonly", "no", "--dir", str(directory), *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process


def _wait(client: redis.Redis, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "redis-server stopped"
        try:
            if client.ping():
                return
        except redis.RedisError:
            time.sleep(0.1)
    raise AssertionError("redis-server did not answer")


@pytest.fixture
def tls_redis(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    process = _redis_server(
        tmp_path, "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
        "--tls-key-file", str(key), "--tls-auth-clients", "no",
    )  # fmt: skip
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    try:
        _wait(redis.Redis.from_url(url), process)
        yield port, cert
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def socket_redis(tmp_path):
    path = tmp_path / "redis.sock"
    process = _redis_server(tmp_path, "--port", "0", "--unixsocket", str(path))
    try:
        _wait(redis.Redis(unix_socket_path=str(path)), process)
        yield path
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_tls_broker_gets_the_message_through_the_shared_client_transport(tls_redis):
    port, cert = tls_redis

    sent = _send_with(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")

    assert sent.returncode == 0, sent.stderr[-3000:]
    answer = json.loads(sent.stdout.strip().splitlines()[-1])
    assert answer["sent"] is True
    assert answer["channel"] == "backoffice.redis_clients.Channel"
    assert "Defaulting to insecure SSL" not in sent.stderr
    with_ca = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    assert queued_tasks(with_ca) == [("tests.broker_urls.probe", [7])]


def test_a_tls_broker_url_without_options_checks_the_certificate():
    probe = """
import json, ssl, django
django.setup()
from django.conf import settings
print(json.dumps([settings.CELERY_BROKER_TRANSPORT,
                  settings.CELERY_BROKER_USE_SSL == {"ssl_cert_reqs": ssl.CERT_REQUIRED}]))
"""
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "rediss://broker.example:6380/0",
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
    }
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [
        "backoffice.redis_clients:Transport",
        True,
    ]


def test_a_unix_socket_broker_gets_the_message(socket_redis):
    sent = _send_with(f"redis+socket://{socket_redis}")

    assert sent.returncode == 0, sent.stderr[-3000:]
    assert json.loads(sent.stdout.strip().splitlines()[-1])["sent"] is True
    assert queued_tasks(f"unix://{socket_redis}") == [("tests.broker_urls.probe", [7])]


def test_a_unix_url_for_the_broker_stops_the_start_with_the_form_to_use(socket_redis):
    sent = _send_with(f"unix://{socket_redis}")

    assert sent.returncode != 0
    assert "ImproperlyConfigured" in sent.stderr
    assert "redis+socket:///path/to/redis.sock" in sent.stderr
    assert queued_tasks(f"unix://{socket_redis}") == []
