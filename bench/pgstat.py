"""PostgreSQL's time per statement in each scenario: `pg_stat_statements` in the bench's cluster.

`bench/pgcpu.py` says how much CPU the whole cluster spent on a scenario; this says where
it went. The bench's cluster is its own (`scripts/with-services.sh`), so the bench turns
the extension on there (`enable`): `ALTER SYSTEM` for `shared_preload_libraries`, the
planning times (`track_planning`) and the statements inside trigger functions
(`track = all`: the versions' counter upserts show as their own rows), then a restart
with `pg_ctl` (the postmaster's own options are kept in `postmaster.opts`), then
`CREATE EXTENSION` in the bench's database. Before each scenario the counters are reset
(`reset`); after it the top statements by execution plus planning time are read
(`top`). When the extension cannot be had (not installed with this PostgreSQL, or the
restart failed), the bench goes on without the breakdown and says so.

What it counts and what it does not: execution and planning time of each statement in
the backend (wall time inside the executor and the planner, lock waits included), not
parsing, the wire protocol, commit and WAL flushing, or background work; `pgcpu.py`'s
/proc sum has all of those. The extension and `track_planning` cost a little per
statement, the same in every scenario of a run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

# Set after the restart (the library must be loaded for its parameters to exist), then reloaded.
SETTINGS = {"pg_stat_statements.track": "all", "pg_stat_statements.track_planning": "on"}
TOP = 15
# The bench's own sampling (bench/server.py) and this module's reads are not the app's.
OWN = ("pg_stat_statements", "pg_stat_activity")


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def enable(database_url: str, *, data_dir: str, log_path: Path) -> str | None:
    """Turn the extension on in the bench's cluster (a restart). Returns why not, or None."""
    import psycopg

    try:
        with psycopg.connect(database_url, autocommit=True) as connection:
            available = connection.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
            ).fetchone()
            if not available:
                return "pg_stat_statements is not installed with this PostgreSQL"
            connection.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        pg_ctl = ["pg_ctl", "-D", data_dir, "-l", str(log_path), "-w", "-t", "60"]
        restart = subprocess.run(  # noqa: S603 - fixed tool, the bench's own cluster
            _as_postgres([*pg_ctl, "-m", "fast", "restart"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if restart.returncode != 0:
            return f"the cluster did not restart: {restart.stderr.strip() or restart.stdout}"
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            for name, value in SETTINGS.items():
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            connection.execute("SELECT pg_reload_conf()")
    except (OSError, psycopg.Error) as error:
        return f"pg_stat_statements could not be enabled: {error}"
    return None


class Statements:
    """Reset before a scenario, the top statements after it (one short session each)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _run(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(sql).fetchall()

    def reset(self) -> None:
        self._run("SELECT pg_stat_statements_reset()")

    def read(self) -> list[dict[str, Any]]:
        """Every statement of the bench's database: calls, times (ms) and rows."""
        rows = self._run(
            "SELECT query, toplevel, calls, total_exec_time, total_plan_time, plans, rows "
            "FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return [
            {
                "query": query,
                "toplevel": toplevel,
                "calls": calls,
                "total_exec_ms": round(exec_ms, 3),
                "total_plan_ms": round(plan_ms, 3),
                "plans": plans,
                "rows": result_rows,
            }
            for query, toplevel, calls, exec_ms, plan_ms, plans, result_rows in rows
            if not any(own in query for own in OWN)
        ]


def breakdown(
    statements: list[dict[str, Any]], operations: int, *, top: int = TOP
) -> dict[str, Any]:
    """The scenario's totals, per operation, and its `top` statements by exec + plan time.

    Nested statements (`toplevel` false: those a trigger function runs) are in their own
    rows and in `nested_*`; their time is inside the top-level statement that fired them
    too, so the totals count top-level statements only.
    """
    outer = [s for s in statements if s["toplevel"]]
    nested = [s for s in statements if not s["toplevel"]]
    exec_ms = sum(s["total_exec_ms"] for s in outer)
    plan_ms = sum(s["total_plan_ms"] for s in outer)
    calls = sum(s["calls"] for s in outer)

    def per_op(value: float) -> float | None:
        return round(value / operations, 3) if operations else None

    ranked = sorted(statements, key=lambda s: s["total_exec_ms"] + s["total_plan_ms"], reverse=True)
    rows = []
    for s in ranked[:top]:
        rows.append(
            {
                **s,
                "mean_exec_ms": round(s["total_exec_ms"] / s["calls"], 4) if s["calls"] else 0,
                "mean_plan_ms": round(s["total_plan_ms"] / s["calls"], 4) if s["calls"] else 0,
                "calls_per_op": per_op(s["calls"]),
                "ms_per_op": per_op(s["total_exec_ms"] + s["total_plan_ms"]),
            }
        )
    return {
        "calls": calls,
        "exec_ms": round(exec_ms, 3),
        "plan_ms": round(plan_ms, 3),
        "calls_per_op": per_op(calls),
        "exec_ms_per_op": per_op(exec_ms),
        "plan_ms_per_op": per_op(plan_ms),
        "nested_calls_per_op": per_op(sum(s["calls"] for s in nested)),
        "nested_ms_per_op": per_op(sum(s["total_exec_ms"] for s in nested)),
        "distinct_statements": len(statements),
        "top": rows,
    }


def short(query: str, width: int = 90) -> str:
    """One line of a statement for a table: whitespace folded, cut at `width`."""
    line = " ".join(query.split()).replace("|", "\\|")
    return line if len(line) <= width else line[: width - 1] + "…"


def markdown(scenarios: dict[str, dict[str, Any]], *, top: int = 8) -> list[str]:
    """Per scenario: totals per operation and a short table of its top statements."""
    out = [
        "PostgreSQL time per statement (pg_stat_statements, reset before each scenario; "
        "exec and plan ms are the backend's time inside the executor and the planner, "
        "lock waits included; nested = statements run by trigger functions):",
        "",
    ]
    for name, result in scenarios.items():
        stats = result.get("pg_statements")
        if not stats:
            continue
        out += [
            f"**{name}**: {stats['calls_per_op']} statements/op, "
            f"exec {stats['exec_ms_per_op']} ms/op, plan {stats['plan_ms_per_op']} ms/op, "
            f"nested {stats['nested_calls_per_op']} statements/op "
            f"({stats['nested_ms_per_op']} ms/op)",
            "",
            "| calls/op | exec ms (mean) | plan ms (mean) | ms/op | rows | statement |",
            "|--:|--:|--:|--:|--:|---|",
        ]
        for row in stats["top"][:top]:
            nested = "" if row["toplevel"] else "(nested) "
            out.append(
                f"| {row['calls_per_op']} | {row['mean_exec_ms']:.3f} | {row['mean_plan_ms']:.3f} "
                f"| {row['ms_per_op']} | {row['rows']} | {nested}`{short(row['query'])}` |"
            )
        out.append("")
    return out
