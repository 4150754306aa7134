"""The bench's verdicts and report: flash-sale checks, targets, `latest.json` and `latest.md`."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import pgstat

# (label, scenario) in table order; the baselines frame the ratios.
ROWS = (
    ("GET /readyz", "readyz"),
    ("POST /bench/baseline (baseline)", "baseline"),
    ("browse (a viral post's views)", "browse"),
    ("browse-cold (pages at random, not a target)", "browse-cold"),
    ("browse-during-sale (the viral views, 1 in 8 a checkout; not a target)", "browse-during-sale"),
    ("cart", "cart"),
    ("checkout", "checkout"),
    ("checkout, on-demand delivery ⁴", "checkout-delivery"),
    ("flash-sale", "flash-sale"),
)
SQL_BY_SCENARIO = {
    "readyz": ("readyz",),
    "baseline": ("baseline",),
    "browse": ("product_list_5", "product_list_20", "product_list_100", "product_detail"),
    "browse-cold": ("product_list_5", "product_list_20", "product_list_100", "product_detail"),
    "browse-during-sale": ("product_list_20", "product_detail", "checkout_1_line"),
    "cart": ("cart_create", "cart_add_line", "cart_update", "cart_complete"),
    "checkout": ("checkout_1_line", "checkout_20_line"),
    "checkout-delivery": ("checkout_delivery", "checkout_delivery_slot"),
    "flash-sale": ("checkout_1_line",),
}


CHECKOUTS = ("checkout_1_line", "checkout_20_line")
NONE = "-"


def one_line(result: dict[str, Any]) -> str:
    latency = result["latency_ms"].get("operation", {})
    return (
        f"{result['operations']} ops in {result['elapsed_s']:.1f} s, "
        f"{result['requests_per_s']:.1f} requests/s, {result['orders_per_s']:.1f} orders/s, "
        f"p50/p95/p99 {latency.get('p50')}/{latency.get('p95')}/{latency.get('p99')} ms, "
        f"{sum(result['errors'].values())} errors"
    )


def flash_sale_checks(
    *, sku: str, stock: int, attempts: int, result: dict[str, Any]
) -> list[dict[str, Any]]:
    """What the database and the answers must say after the sale: exactly `stock` sold."""
    from django.db.models import Sum

    from inventory.models import Allocation, Reservation, StockLevel, StockMovement
    from inventory.selectors import stock_check
    from orders.models import OrderLine

    levels = StockLevel.objects.filter(variant__sku=sku)
    on_hand = levels.aggregate(total=Sum("on_hand"))["total"] or 0
    allocated = levels.aggregate(total=Sum("allocated"))["total"] or 0
    allocations = Allocation.objects.filter(stock_level__in=levels).aggregate(t=Sum("quantity"))
    ledger = StockMovement.objects.filter(stock_level__in=levels).aggregate(t=Sum("delta"))
    lines = OrderLine.objects.filter(sku=sku)
    units = lines.aggregate(total=Sum("quantity"))["total"] or 0
    orders = lines.values("order_id").distinct().count()
    held = Reservation.objects.filter(stock_level__in=levels).count()
    problems = stock_check()
    answers = result["answers"]
    checks = [
        ("checkout attempts", attempts, result["operations"]),
        ("201 order created", stock, answers.get("201", 0)),
        ("409 insufficient_stock", attempts - stock, answers.get("409 insufficient_stock", 0)),
        ("any other answer", 0, sum(result["errors"].values())),
        ("orders in the database", stock, orders),
        ("units sold (order lines)", stock, units),
        ("oversold units", 0, max(0, units - stock)),
        ("stock allocated", stock, allocated),
        ("sum of allocations", stock, allocations["t"] or 0),
        ("on hand", stock, on_hand),
        ("ledger sum", stock, ledger["t"] or 0),
        ("reservations left", 0, held),
        ("stock_check() problems", 0, len(problems)),
    ]
    rows = [
        {"check": name, "expected": expected, "actual": actual, "ok": expected == actual}
        for name, expected, actual in checks
    ]
    if problems:
        rows.append({"check": "stock_check()", "expected": [], "actual": problems, "ok": False})
    return rows


def _target(name: str, goal: str, measured: str, ok: bool | None) -> dict[str, Any]:
    return {"target": name, "goal": goal, "measured": measured, "ok": ok}


# Issue 13's targets, by their names in `ratios` (var/bench/latest.json): (what, how, goal).
RATIO_TARGETS: dict[str, tuple[str, str, float]] = {
    "checkout_vs_baseline": ("one-shot checkout orders/s ÷ baseline requests/s", ">=", 0.35),
    "browse_vs_baseline": ("browse requests/s ÷ baseline requests/s", ">=", 0.60),
    "flash_vs_checkout": ("flash-sale orders/s ÷ one-shot checkout orders/s", ">=", 0.90),
    "hot_ceiling_vs_pgbench": (
        "pgbench: the statements under the stock lock ÷ the minimal hot-row transaction",
        ">=",
        0.50,
    ),
    "pg_cpu_ms_per_checkout": ("PostgreSQL CPU ms per one-shot checkout", "<=", 1.5),
    "sql_per_checkout": ("SQL statements per one-shot checkout, 1 or 20 lines", "<=", 12),
    "checkout_p99_ms": ("checkout p99 ms at 32 clients", "<", 250),
    "oversold": ("flash sale: units sold over the stock", "==", 0),
}
PERCENT = {"checkout_vs_baseline", "browse_vs_baseline", "flash_vs_checkout"}
PERCENT |= {"hot_ceiling_vs_pgbench"}


def _divide(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 3) if top is not None and bottom else None


def ratios(document: dict[str, Any]) -> dict[str, float | int | None]:
    """Issue 13's figures from this one run (None where the run did not measure one)."""
    scenarios = document["scenarios"]
    baseline = (scenarios.get("baseline") or {}).get("requests_per_s")
    checkout = scenarios.get("checkout") or {}
    flash = scenarios.get("flash-sale") or {}
    pgbench = document["baselines"].get("pgbench") or {}
    counts = [document["queries"].get(name) for name in CHECKOUTS]
    oversold = next(
        (c["actual"] for c in document["flash_sale_checks"] if c["check"] == "oversold units"),
        None,
    )
    return {
        "checkout_vs_baseline": _divide(checkout.get("orders_per_s"), baseline),
        "browse_vs_baseline": _divide(
            (scenarios.get("browse") or {}).get("requests_per_s"), baseline
        ),
        "flash_vs_checkout": _divide(
            flash.get("orders_per_s_until_last"), checkout.get("orders_per_s")
        ),
        "hot_ceiling_vs_pgbench": _divide(
            (pgbench.get("replay") or {}).get("tps"), (pgbench.get("minimal") or {}).get("tps")
        ),
        "pg_cpu_ms_per_checkout": checkout.get("pg_cpu_ms_per_order"),
        "sql_per_checkout": max((c for c in counts if c is not None), default=None),
        "checkout_p99_ms": (checkout.get("latency_ms", {}).get("checkout") or {}).get("p99"),
        "oversold": oversold,
    }


def ratio_met(name: str, value: float | None) -> bool | None:
    """Whether a ratio meets its target; None when it was not measured."""
    if value is None:
        return None
    _, how, goal = RATIO_TARGETS[name]
    return {">=": value >= goal, "<=": value <= goal, "<": value < goal, "==": value == goal}[how]


def _shown(name: str, value: float | None) -> str:
    if value is None:
        return "not measured"
    if name in PERCENT:
        return f"{value:.1%}"
    return f"{value:g}"


def targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 13's targets (its `ratios`), then the bench's other checks, from this one run."""
    rows = []
    for name, value in document["ratios"].items():
        what, how, goal = RATIO_TARGETS[name]
        shown_goal = f"{how} {goal:.0%}" if name in PERCENT else f"{how} {goal:g}"
        rows.append(
            _target(f"`{name}`: {what}", shown_goal, _shown(name, value), ratio_met(name, value))
        )
    scenarios = document["scenarios"]
    baseline = scenarios.get("baseline")
    delivery = scenarios.get("checkout-delivery")
    if baseline and delivery:
        ratio = delivery["orders_per_s"] / baseline["requests_per_s"]
        rows.append(
            _target(
                "on-demand checkout orders/s ÷ baseline requests/s",
                ">= 35%",
                f"{ratio:.1%} ({delivery['orders_per_s']:.1f} / {baseline['requests_per_s']:.1f})",
                ratio >= 0.35,
            )
        )
    if delivery:
        p99 = delivery["latency_ms"]["checkout"]["p99"]
        rows.append(
            _target("on-demand checkout p99 at 32 clients", "< 250", f"{p99:.0f} ms", p99 < 250)
        )
    counts = document["queries"]
    # With a payment, as the bench's checkouts pay: the stock is held before the provider is
    # asked (docs/performance.md, "Query budgets", round four).
    checks = [
        (
            "SQL queries: on-demand checkout, as soon as possible or in a slot",
            ("checkout_delivery", "checkout_delivery_slot"),
            25,
        ),
        ("SQL queries: cart complete", ("cart_complete",), 16),
        ("SQL queries: cart line add", ("cart_add_line",), 12),
        (
            "SQL queries: product list page, 5, 20 or 100 products",
            ("product_list_5", "product_list_20", "product_list_100"),
            6,
        ),
    ]
    for name, operations, limit in checks:
        values = [counts[operation] for operation in operations if operation in counts]
        if values:
            measured = " / ".join(str(value) for value in values)
            rows.append(_target(name, f"<= {limit}", measured, max(values) <= limit))
    growth = document["memory"].get("growth_pct")
    if growth is not None:
        memory = document["memory"]
        rows.append(
            _target(
                "server memory, last vs first window of load",
                "<= +10 %",
                f"{growth:+.1f} % ({memory['first_mb']} -> {memory['last_mb']} MB, "
                f"{memory['window_s']:.0f} s windows)",
                growth <= 10,
            )
        )
    return rows


def machine(pg_version: str = "") -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if "MemTotal" in line
        ),
        0,
    )
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg_version,
    }


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: how busy the machine was besides the bench."""
    return " ".join(_read("/proc/loadavg").split()[:3])


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def build(
    *,
    mode: str,
    started: datetime,
    duration: float,
    server: str,
    results: dict[str, dict[str, Any]],
    queries: dict[str, Any],
    pgbench: dict[str, Any] | None,
    memory: dict[str, Any],
    flash: list[dict[str, Any]] | None,
    pg_version: str,
    load_average: dict[str, str],
    pg_statements: str = "off",
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "mode": mode,
        "duration_s": round(duration, 1),
        "machine": {**machine(pg_version), "load_average": load_average},
        "server": server,
        "load_generator": "bench/load.py: asyncio + aiohttp, one separate process",
        "scenarios": results,
        "baselines": {"baseline": results.get("baseline"), "pgbench": pgbench},
        "queries": queries["counts"],
        "query_statements": queries["statements"],
        "memory": memory,
        "flash_sale_checks": flash or [],
        # Each scenario's `pg_statements` breakdown is there when this is "on" (bench/pgstat.py).
        "pg_stat_statements": pg_statements,
    }
    document["ratios"] = ratios(document)
    document["targets"] = targets(document)
    failures = [
        f"flash-sale: {c['check']} expected {c['expected']}, got {c['actual']}"
        for c in document["flash_sale_checks"]
        if not c["ok"]
    ]
    failures += [
        f"{name}: {sum(r['errors'].values())} unexpected answers {r['errors']}"
        for name, r in results.items()
        if r["errors"] and name != "flash-sale"
    ]
    document["failures"] = failures
    document["ok"] = not failures
    return document


def _activity(database: dict[str, float] | None) -> str:
    if not database:
        return NONE
    return f"{database['active_mean']:.1f} / {database['lock_waiting_mean']:.1f}"


def _ms(value: float | None) -> str:
    return NONE if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    out = [
        f"### Benchmark, {document['mode']} run, {document['date']}",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, {m['os']}, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}. Server: gunicorn, "
        f"{document['server']}, DEBUG off. Load: {document['load_generator']}. "
        f"Run took {document['duration_s']:.0f} s; load average (1/5/15 min) "
        f"{m['load_average']['start']} at the start, {m['load_average']['end']} at the end.",
        "",
        "| scenario | clients | seconds | requests | requests/s | orders/s | p50 ms | p95 ms "
        "| p99 ms | errors | SQL/op | PG CPU ms/op ⁵ | peak RSS MB | DB busy / lock-waiting ³ |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for label, name in ROWS:
        result = document["scenarios"].get(name)
        if result is None:
            continue
        latency = result["latency_ms"].get("operation", {})
        orders = f"{result['orders_per_s']:.1f}" if result["orders"] else NONE
        if name == "flash-sale" and result["orders_per_s_until_last"]:
            orders = f"{result['orders_per_s_until_last']:.1f} ¹"
        if name == "cart":
            label = "cart (4 requests) ²"
        sql = "/".join(str(document["queries"].get(op, "?")) for op in SQL_BY_SCENARIO[name])
        out.append(
            f"| {label} | {result['concurrency']} | {result['elapsed_s']:.1f} "
            f"| {result['requests']} | {result['requests_per_s']:.1f} | {orders} "
            f"| {_ms(latency.get('p50'))} | {_ms(latency.get('p95'))} | {_ms(latency.get('p99'))} "
            f"| {sum(result['errors'].values())} | {sql} | {_ms(result.get('pg_cpu_ms_per_op'))} "
            f"| {result['peak_rss_mb']} "
            f"| {_activity(result.get('database'))} |"
        )
    pgbench = document["baselines"].get("pgbench")
    for label, key, sql in (
        ("pgbench: minimal hot-row transaction", "minimal", 1),
        ("pgbench: checkout's statements under the stock lock", "replay", "-"),
        ("pgbench: the same in one request (not a target)", "replay_one_round_trip", "-"),
    ):
        run = (pgbench or {}).get(key)
        if run:
            statements = sql if sql != "-" else run["script"].count(";")
            out.append(
                f"| {label} | {pgbench['clients']} | {pgbench['seconds']} "
                f"| {run['transactions']} | {run['tps']:.1f} | {run['tps']:.1f} "
                f"| avg {run['latency_avg_ms']:.1f} | | | {run['failed']} | {statements} "
                "| - | - | - |"
            )
    out += [
        "",
        "¹ flash-sale orders/s: orders until the last one was placed (the rate while stock "
        "lasted). ² cart latency is the whole flow: create with a line, add a line, set "
        "contact and address, complete. SQL/op: browse = list of 5/20/100, detail; cart = "
        "create/add/update/complete; checkout = 1 line/20 lines (counted in-process). "
        "³ mean database sessions running a statement / of those, waiting for a row lock "
        "(pg_stat_activity, sampled each second). ⁴ the `now` method: the zone, its minimum "
        "and hours checked, the promise computed, a delivery recorded; every other checkout "
        "books a slot (SQL/op: as soon as possible/in a slot). ⁵ CPU of the PostgreSQL "
        "cluster's processes (/proc, bench/pgcpu.py) over the scenario, per operation.",
        "",
        "Answers by status and code:",
        "",
    ]
    for name, result in document["scenarios"].items():
        answers = ", ".join(f"{label} x {count}" for label, count in result["answers"].items())
        out.append(f"- {name}: {answers}")
    out += ["", "| scenario | request | count | p50 ms | p95 ms | p99 ms | max ms |"]
    out.append("|---|---|--:|--:|--:|--:|--:|")
    for name, result in document["scenarios"].items():
        for kind, latency in result["latency_ms"].items():
            if kind == "operation" or not latency.get("count"):
                continue
            out.append(
                f"| {name} | {kind} | {latency['count']} | {_ms(latency['p50'])} "
                f"| {_ms(latency['p95'])} | {_ms(latency['p99'])} | {_ms(latency['max'])} |"
            )
    out += ["", "Ratios (issue 13) and the other targets:", ""]
    out += ["| target | goal | measured | result |", "|---|---|---|---|"]
    for row in document["targets"]:
        verdict = "not measured" if row["ok"] is None else "met" if row["ok"] else "**MISSED**"
        out.append(f"| {row['target']} | {row['goal']} | {row['measured']} | {verdict} |")
    if document.get("pg_stat_statements") == "on":
        out += ["", *pgstat.markdown(document["scenarios"])]
    if document["flash_sale_checks"]:
        verdict = "PASSED" if all(c["ok"] for c in document["flash_sale_checks"]) else "FAILED"
        out += ["", f"Flash-sale correctness: {verdict}", ""]
        out += ["| check | expected | actual |", "|---|--:|--:|"]
        for check in document["flash_sale_checks"]:
            mark = "" if check["ok"] else " **≠**"
            out.append(f"| {check['check']} | {check['expected']} | {check['actual']}{mark} |")
    out.append("")
    return "\n".join(out)
