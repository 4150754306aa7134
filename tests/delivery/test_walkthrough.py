"""docs/delivery.md's walk, run by its example script against `make run` itself: the
embedded SQLite database, tasks in-process, streams in-process, uvicorn serving it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.outbox.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "delivery_walkthrough.py"


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"make run did not serve in time:\n{log.read_text()[-3000:]}")


def test_the_walkthrough_takes_an_order_from_checkout_to_the_door_on_make_run(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    log = tmp_path / "make-run.log"
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
                   "VAR_DIR": str(var_dir)}  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, log)
        keys = dict(
            line.split("\t", 1) for line in (var_dir / "demo-keys.txt").read_text().splitlines()
        )
        walk = subprocess.run(
            [
                sys.executable,
                str(EXAMPLE),
                "--base-url",
                url,
                "--pk",
                keys["publishable (web)"],
                "--sk",
                keys["secret (admin)"],
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    assert walk.returncode == 0, walk.stdout + walk.stderr + log.read_text()[-3000:]
    out = walk.stdout
    assert "[customer stream] snapshot" in out
    assert "the customer sees Sam coming" in out
    assert out.count("[customer stream] location") == 4
    assert "wrong PIN: wrong_pin, 4 attempts left" in out
    assert "phone *********42" in out  # the courier never sees the customer's number
    assert out.rstrip().endswith("completed, delivered by proof 'pin'")
