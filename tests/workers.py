"""The suite on several processes (pytest-xdist): what each worker gets of its own.

`make test` runs the suite in two phases (scripts/run-tests.sh): every test not marked
`serial` on PYTEST_WORKERS processes (`-n N --dist loadgroup --phase parallel`), then the
`serial` tests alone in one process (`--phase serial`). PYTEST_WORKERS=0 runs everything in
one process, in order.

Shared by the workers, started once by scripts/with-services.sh: the PostgreSQL cluster
(pytest-django gives each worker a database of its own, `test_backoffice_gwN`) and
localstripe (every object a test reads is found by its own id; no test counts them).
Each worker's own: a Redis server (TEST_WORKER_REDIS, one `port:directory` per worker),
which holds its Celery broker, its cache and its live streams' logs and pub/sub channels
(pub/sub is not divided by Redis database number, so only a server of its own keeps the
workers' streams apart); its temporary directory (pytest's basetemp per worker); and the
free ports its servers ask the OS for.
"""

from __future__ import annotations

import os

import pytest

PHASES = ("all", "parallel", "serial")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--phase",
        choices=PHASES,
        default="all",
        help="run every test (all), those that may run beside others (parallel), or those "
        "marked `serial`, which must run alone (serial)",
    )


def worker_redis() -> list[tuple[int, str]]:
    """The Redis servers scripts/with-services.sh started for the workers: (port, dir)."""
    servers = []
    for item in os.environ.get("TEST_WORKER_REDIS", "").split():
        port, _, directory = item.partition(":")
        servers.append((int(port), directory))
    return servers


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list) -> None:
    """Before the workers start: each one's environment points at its own Redis, so the
    settings it reads at start-up (and every process its tests start) use that server."""
    servers = worker_redis()
    if len(servers) < len(specs):
        raise pytest.UsageError(
            f"{len(specs)} workers but {len(servers)} worker Redis servers: run the suite "
            "with `make test PYTEST_WORKERS=N` (scripts/with-services.sh starts one per worker)."
        )
    for spec, (port, directory) in zip(specs, servers, strict=False):
        spec.env.update(
            {
                "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
                "CACHE_URL": f"redis://127.0.0.1:{port}/1",
                "TEST_REDIS_PORT": str(port),
                "TEST_REDIS_DIR": directory,
            }
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    phase = config.getoption("phase")
    if phase == "all":
        return
    wanted = phase == "serial"
    if phase == "parallel":
        # pytest-xdist hands out work by node id: items sharing one would run only once.
        seen: set[str] = set()
        shared = {item.nodeid for item in items if item.nodeid in seen or seen.add(item.nodeid)}
        shared -= {item.nodeid for item in items if item.get_closest_marker("serial")}
        if shared:
            raise pytest.UsageError(
                "tests sharing a node id would run only once on workers; mark them serial: "
                + ", ".join(sorted(shared))
            )
    kept, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("serial")
        if mark is not None and not mark.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: say why it must run alone (reason=...)")
        (kept if (mark is not None) == wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
