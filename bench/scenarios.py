"""The run itself: database, data, query counts, server, scenarios, checks, baseline, report.

Every process started here (gunicorn, each load generator) is stopped in a `finally`,
also when something fails half-way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import django

from bench import report, tracking
from bench.common import OUT, ROOT, Phase, Plan, free_port, log
from bench.pgstat import Statements, breakdown
from bench.server import GunicornConfig, MemorySampler, Server, start, stop

PROGRESS_EVERY = 5.0


def run_load(
    phase: Phase, *, config: Path, out: Path, progress_every: float, seed: int = 1
) -> dict[str, Any]:
    """Run one scenario in a separate load-generator process and return its summary."""
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--scenario",
        phase.name,
        "--config",
        str(config),
        "--concurrency",
        str(phase.concurrency),
        "--duration",
        str(phase.duration),
        "--max-ops",
        str(phase.max_ops),
        "--progress-every",
        str(progress_every),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    process = subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - our own module
    try:
        process.wait(timeout=phase.duration + 120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator for {phase.name} exited {process.returncode}")
    return json.loads(out.read_text())


def execute(
    *, plan: Plan, args: argparse.Namespace, started: datetime, statements: Statements | None
) -> int:
    """Run the plan; returns the exit status (1 when a correctness check failed).

    `statements`: pg_stat_statements in the cluster (`bench/pgstat.py`), reset before each
    scenario and read after it; None runs without the per-statement breakdown.
    """
    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from bench.pgbench import hot_row_rates
    from bench.pgcpu import ClusterCpu, per_operation_ms
    from bench.queries import count_queries
    from bench.seed import seed

    clock = time.monotonic()
    load_at_start = report.load_average()
    server: Server | None = None
    sampler: MemorySampler | None = None
    results: dict[str, dict[str, Any]] = {}
    try:
        call_command("migrate", verbosity=0, interactive=False)
        log(f"database migrated ({time.monotonic() - clock:.0f} s)")
        step = time.monotonic()
        seeded = seed(products=plan.products, flash_stock=plan.flash_stock)
        log(
            f"loaded {len(seeded.skus)} products, stock in {len(seeded.warehouses)} warehouses, "
            f"{len(seeded.keys)} channels, flash-sale SKU with {seeded.flash_stock} units "
            f"({time.monotonic() - step:.0f} s)"
        )
        queries = count_queries(
            keys=seeded.keys, skus=seeded.skus, slugs=seeded.slugs, slots=seeded.delivery_slots
        )
        log(
            "SQL queries per operation: "
            + ", ".join(f"{k} {v}" for k, v in queries["counts"].items())
        )
        pg_version = _pg_version()
        connections.close_all()

        config = GunicornConfig(args.workers, args.worker_class, args.threads)
        port = free_port()
        server = start(
            config=config, port=port, env=dict(os.environ), log_path=OUT / "gunicorn.log"
        )
        log(f"gunicorn on 127.0.0.1:{port}: {config.describe()}, DEBUG off")
        data_file = OUT / "seed.json"
        data_file.write_text(json.dumps({"base_url": server.url, **seeded.as_dict()}))
        sampler = MemorySampler(server, database_url=os.environ["DATABASE_URL"])
        sampler.start()
        database_cpu = ClusterCpu(os.environ["DATABASE_URL"])

        sampler.phase = "warm-up"
        for name in ("readyz", "baseline", "browse", "checkout"):
            warm = Phase(name, 16, plan.warmup_seconds)
            run_load(warm, config=data_file, out=OUT / "warm-up.json", progress_every=60)
        log(f"warmed up ({len(plan.phases)} scenarios next)")

        for number, phase in enumerate(plan.phases, start=1):
            limit = f", {phase.max_ops} operations" if phase.max_ops < 10_000_000 else ""
            log(
                f"[{number}/{len(plan.phases)}] {phase.name}: {phase.concurrency} clients, "
                f"at most {phase.duration:.0f} s{limit}"
            )
            sampler.phase = phase.name
            if statements is not None:
                statements.reset()
            cpu_before = database_cpu.reading()
            result = run_load(
                phase,
                config=data_file,
                out=OUT / f"{phase.name}.json",
                progress_every=PROGRESS_EVERY,
                seed=number,
            )
            pg_cpu = database_cpu.spent(cpu_before, database_cpu.reading())
            pg_cpu_s = pg_cpu["total"]
            sampler.phase = "idle"
            result["pg_cpu_s"] = pg_cpu
            result["pg_cpu_ms_per_op"] = per_operation_ms(pg_cpu_s, result["operations"])
            result["pg_cpu_ms_per_order"] = per_operation_ms(pg_cpu_s, result["orders"])
            result["peak_rss_mb"] = sampler.peak_mb(phase.name)
            result["database"] = sampler.database_activity(phase.name)
            if statements is not None:
                result["pg_statements"] = breakdown(statements.read(), result["operations"])
            results[phase.name] = result
            log(f"[{number}/{len(plan.phases)}] {phase.name} done: {report.one_line(result)}")

        tracked = None
        if not args.only or "tracking" in args.only.split(","):
            sampler.phase = "tracking"  # self-contained: bench/tracking.py
            tracked = tracking.run(
                api_url=server.url,
                plan=tracking.QUICK_PLAN if args.quick else tracking.FULL_PLAN,
                warehouse=seeded.warehouses[0],
                channel="web",
            )
            sampler.phase = "idle"

        flash = None
        if "flash-sale" in results:
            flash = report.flash_sale_checks(
                sku=seeded.flash_sku,
                stock=plan.flash_stock,
                attempts=plan.flash_attempts,
                result=results["flash-sale"],
            )
        memory = sampler.growth({phase.name for phase in plan.phases}, plan.memory_window)
        memory["peak_hwm_mb_by_process"] = {
            str(pid): round(kb / 1024, 1) for pid, kb in sampler.peak_hwm_kb.items()
        }
        memory["timeline"] = [
            [round(s.at, 1), s.phase, s.rss_kb, s.active, s.waiting] for s in sampler.samples
        ]
        sampler.finish()
        stop(server)
        server = None

        connections.close_all()  # the bench database is copied as a template: no session
        log(f"pgbench hot row: 64 clients, {plan.pgbench_seconds} s each, minimal and replay")
        pgbench = hot_row_rates(
            port=int(os.environ["TEST_PG_PORT"]),
            clients=64,
            threads=2,
            seconds=plan.pgbench_seconds,
            work_dir=OUT,
            checkout_statements=queries["statements"]["checkout_1_line"],
        )
        log(
            f"pgbench hot row: minimal {pgbench['minimal']['tps']} transactions/s, "
            f"the checkout's statements under the stock lock {pgbench['replay']['tps']}/s"
        )
    finally:
        if sampler is not None:
            sampler.finish()
        stop(server)

    document = report.build(
        mode="quick" if args.quick else "full",
        started=started,
        duration=time.monotonic() - clock,
        server=config.describe(),
        results=results,
        queries=queries,
        pgbench=pgbench,
        memory=memory,
        flash=flash,
        pg_version=pg_version,
        load_average={"start": load_at_start, "end": report.load_average()},
        pg_statements="on" if statements is not None else "off",
    )
    markdown = report.markdown(document)
    if tracked is not None:
        document["tracking"] = tracked
        document["failures"] += tracked["failures"]
        document["ok"] = document["ok"] and not tracked["failures"]
        markdown += tracking.markdown(tracked)
    (OUT / "latest.json").write_text(json.dumps(document, indent=2))
    (OUT / "latest.md").write_text(markdown)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (OUT / "runs").mkdir(exist_ok=True)
    (OUT / "runs" / f"{stamp}.json").write_text(json.dumps(document, indent=2))
    print()
    print(markdown)
    log(f"wrote {OUT / 'latest.json'} and {OUT / 'latest.md'}")
    if not document["ok"]:
        log("FAILED: " + "; ".join(document["failures"]))
        return 1
    return 0


def _pg_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]
