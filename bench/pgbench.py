"""The database's own limit for one hot SKU: pgbench selling from one stock row.

Each transaction decrements the row conditionally (`qty > 0`) and inserts one order
row, in a scratch database of the same PostgreSQL cluster. The stock is large enough
never to run out, so every transaction is a sale: its rate is what the database can
do on that row with no application in between.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

DATABASE = "bench_hot_row"
STOCK = 1_000_000_000  # the row's starting quantity, as in SCHEMA
SCHEMA = """
DROP TABLE IF EXISTS hot_orders;
DROP TABLE IF EXISTS hot_stock;
CREATE TABLE hot_stock (id integer PRIMARY KEY, qty integer NOT NULL CHECK (qty >= 0));
CREATE TABLE hot_orders (
    id bigserial PRIMARY KEY,
    stock_id integer NOT NULL REFERENCES hot_stock (id),
    quantity integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO hot_stock VALUES (1, 1000000000);
"""
SCRIPT = """BEGIN;
UPDATE hot_stock SET qty = qty - 1 WHERE id = 1 AND qty > 0;
INSERT INTO hot_orders (stock_id, quantity) VALUES (1, 1);
COMMIT;
"""


def _tool(name: str) -> str:
    """The PostgreSQL client tool, from PATH or the server's own bin folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise RuntimeError(f"{name} is missing: it ships with the PostgreSQL server package.")


def _run(command: list[str]) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tools, loopback database
        command, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def hot_row_rate(
    *, port: int, clients: int, threads: int, seconds: int, work_dir: Path
) -> dict[str, float | int | str]:
    """Run pgbench and return its rate (tps) and mean latency, checked against the tables."""
    connect = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    _run([_tool("psql"), *connect, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DATABASE}"])
    _run([_tool("createdb"), *connect, DATABASE])
    _run([_tool("psql"), *connect, "-d", DATABASE, "-v", "ON_ERROR_STOP=1", "-q", "-c", SCHEMA])
    script = work_dir / "hot_row.sql"
    script.write_text(SCRIPT)
    output = _run(
        [
            _tool("pgbench"),
            *connect,
            "-n",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            "-f",
            str(script),
            DATABASE,
        ]
    )
    tps = float(re.search(r"tps = ([0-9.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([0-9.]+) ms", output).group(1))
    processed = int(re.search(r"actually processed: (\d+)", output).group(1))
    counts = _run(
        [
            _tool("psql"),
            *connect,
            "-d",
            DATABASE,
            "-At",
            "-c",
            "SELECT (SELECT count(*) FROM hot_orders), (SELECT qty FROM hot_stock WHERE id = 1)",
        ]
    )
    orders, qty = (int(value) for value in counts.strip().split("|"))
    if orders != STOCK - qty or orders < processed:
        raise RuntimeError(f"pgbench: {orders} orders but stock fell by {STOCK - qty}.")
    return {
        "clients": clients,
        "threads": threads,
        "seconds": seconds,
        "tps": round(tps, 1),
        "latency_avg_ms": latency,
        "transactions": processed,
        "script": SCRIPT,
    }
