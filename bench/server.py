"""The server under test: gunicorn in its own process group, and its memory sampled each second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

GUNICORN = Path(sys.executable).with_name("gunicorn")


@dataclass
class GunicornConfig:
    workers: int
    worker_class: str = "sync"
    threads: int = 1

    def describe(self) -> str:
        if self.worker_class == "gthread":
            return f"{self.workers} gthread workers x {self.threads} threads"
        return f"{self.workers} {self.worker_class} workers"


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    config: GunicornConfig

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The master and its workers."""
        return [self.process.pid, *_children(self.process.pid)]


def start(*, config: GunicornConfig, port: int, env: dict[str, str], log_path: Path) -> Server:
    """Start gunicorn on loopback and wait until every worker answers `/healthz`."""
    command = [
        str(GUNICORN),
        "backoffice.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(config.workers),
        "--worker-class",
        config.worker_class,
        "--threads",
        str(config.threads),
        "--backlog",
        "2048",
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log_path),
    ]
    with log_path.open("ab") as log:  # the app's own log lines (warnings, errors) go there too
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log
        )
    server = Server(process=process, port=port, config=config)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}")
        if _answers(f"{server.url}/healthz") and len(server.pids()) > config.workers:
            return server
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")


def stop(server: Server | None) -> None:
    """Stop the whole process group: TERM, then KILL what is left after a few seconds."""
    if server is None or server.process.poll() is not None:
        return
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    except ProcessLookupError:
        pass


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _children(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            children.append(int(entry.name))
    return children


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) when it is gone."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


@dataclass
class Sample:
    at: float
    phase: str
    rss_kb: int
    processes: int
    active: int = 0  # database sessions running a statement
    waiting: int = 0  # of those, waiting for a lock held by another transaction


ACTIVITY = (
    "SELECT count(*) FILTER (WHERE state = 'active'), "
    "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


class MemorySampler:
    """Sums the RSS of the master and workers once a second, labelled with the current phase."""

    def __init__(self, server: Server, database_url: str = "", interval: float = 1.0) -> None:
        self.server = server
        self.database_url = database_url
        self.interval = interval
        self.phase = "start"
        self.samples: list[Sample] = []
        self.peak_hwm_kb: dict[int, int] = {}
        self.started_at = time.monotonic()
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="memory-sampler")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        database = None
        if self.database_url:
            database = psycopg.connect(self.database_url, autocommit=True)
        try:
            while not self._stop_event.is_set():
                self.sample(database)
                self._stop_event.wait(self.interval)
        finally:
            if database is not None:
                database.close()

    def sample(self, database: psycopg.Connection | None = None) -> None:
        active = waiting = 0
        if database is not None:
            active, waiting = database.execute(ACTIVITY).fetchone()
        total = 0
        pids = self.server.pids()
        for pid in pids:
            rss, hwm = _memory_kb(pid)
            total += rss
            self.peak_hwm_kb[pid] = max(self.peak_hwm_kb.get(pid, 0), hwm)
        self.samples.append(
            Sample(
                time.monotonic() - self.started_at, self.phase, total, len(pids), active, waiting
            )
        )

    def finish(self) -> None:
        self._stop_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def database_activity(self, phase: str) -> dict[str, float]:
        """Mean sessions busy in the database, and how many of them waited on a row lock."""
        samples = [s for s in self.samples if s.phase == phase]
        if not samples:
            return {}
        return {
            "active_mean": round(sum(s.active for s in samples) / len(samples), 1),
            "lock_waiting_mean": round(sum(s.waiting for s in samples) / len(samples), 1),
        }

    def peak_mb(self, phase: str) -> float | None:
        values = [s.rss_kb for s in self.samples if s.phase == phase]
        return round(max(values) / 1024, 1) if values else None

    def growth(self, phases: set[str], window: float) -> dict[str, float | None]:
        """Median total RSS in the first and the last `window` seconds of these phases."""
        loaded = [s for s in self.samples if s.phase in phases]
        if len(loaded) < 4:
            return {"first_mb": None, "last_mb": None, "growth_pct": None}
        start, end = loaded[0].at, loaded[-1].at
        window = min(window, (end - start) / 2)
        first = [s.rss_kb for s in loaded if s.at <= start + window]
        last = [s.rss_kb for s in loaded if s.at >= end - window]
        first_mb, last_mb = _median(first) / 1024, _median(last) / 1024
        return {
            "window_s": round(window, 1),
            "first_mb": round(first_mb, 1),
            "last_mb": round(last_mb, 1),
            "growth_pct": round((last_mb / first_mb - 1) * 100, 1),
        }


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
