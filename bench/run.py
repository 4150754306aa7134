"""`make bench`: set everything up, run each scenario against gunicorn, check, report.

Runs inside `scripts/with-services.sh` (a throwaway PostgreSQL and Redis on loopback):
creates and migrates the database, loads the data through the services, counts SQL
queries per operation in-process, serves the app with gunicorn (DEBUG off), drives
each scenario from a separate load-generator process (`bench/load.py`), checks the
flash sale against the database, runs the pgbench hot-row baseline, and writes
`var/bench/latest.json` and `var/bench/latest.md`. Exits 1 when the flash sale (or
any scenario) went wrong; missed performance targets are printed, not fatal.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

from bench.common import FULL, OUT, QUICK, log


def server_env() -> dict[str, str]:
    """Production settings for the app (and this process): DEBUG off, no rate limit, loopback.

    Database, broker, cache and secret come from `scripts/with-services.sh`.
    """
    return {
        "DEBUG": "0",
        "API_RATE_LIMIT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        # Production settings, plus the bench's baseline endpoint and its table (bench/settings.py).
        "DJANGO_SETTINGS_MODULE": "bench.settings",
    }


def create_database(port: str) -> None:
    subprocess.run(  # noqa: S603 - fixed tool, loopback cluster
        ["createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "backoffice"],  # noqa: S607
        check=True,
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; WORKERS, WORKER_CLASS and THREADS from the environment (the Makefile) too.

    The default, gthread with one worker per core and 8 threads, beat 2 x cores + 1 sync
    workers on 2 cores in every paired run (docs/performance.md), at half the memory.
    """
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short scenarios: under 2 minutes")
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default=os.environ.get("WORKER_CLASS") or "gthread",
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS") or 0))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS") or 0))
    parser.add_argument("--only", default="", help="comma-separated scenarios (for profiling)")
    parser.add_argument(
        "--no-pg-statements",
        action="store_true",
        help="leave pg_stat_statements off (no per-statement breakdown, no cluster restart)",
    )
    args = parser.parse_args(argv)
    if args.worker_class == "gthread":
        args.workers = args.workers or cores
        args.threads = args.threads or 8
    else:
        args.workers = args.workers or 2 * cores + 1
        args.threads = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if "TEST_PG_PORT" not in os.environ:
        print("Run it through `make bench` (it starts PostgreSQL and Redis).", file=sys.stderr)
        return 2
    # A TERM (from the services script or a CI timeout) unwinds like Ctrl-C: finally blocks run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.update(server_env())
    from bench.scenarios import execute  # after the environment is set for Django

    plan = QUICK if args.quick else FULL
    if args.only:
        wanted = set(args.only.split(","))
        plan = replace(plan, phases=tuple(p for p in plan.phases if p.name in wanted))
    started = datetime.now(UTC)
    mode = "quick" if args.quick else "full"
    log(f"{mode} run on {os.cpu_count()} cores, PostgreSQL on :{os.environ['TEST_PG_PORT']}")
    create_database(os.environ["TEST_PG_PORT"])
    statements = None if args.no_pg_statements else _pg_statements()
    return execute(plan=plan, args=args, started=started, statements=statements)


def _pg_statements():
    """pg_stat_statements in the bench's cluster (`bench/pgstat.py`), or None, said why."""
    from pathlib import Path

    from bench.pgstat import Statements, enable

    url = os.environ["DATABASE_URL"]
    log_path = Path(os.environ.get("TEST_PG_SOCKET_DIR", str(OUT))) / "pg.log"
    why_not = enable(url, data_dir=os.environ["TEST_PG_DATA"], log_path=log_path)
    if why_not:
        log(f"no statement breakdown: {why_not}")
        return None
    log("pg_stat_statements on (track all, planning times): a breakdown per scenario")
    return Statements(url)


if __name__ == "__main__":
    sys.exit(main())
