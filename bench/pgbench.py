"""The database's own limit for one hot SKU: pgbench on one stock row, two ways, one run.

- **minimal**: pgbench's minimal hot-row transaction, `UPDATE hot_stock SET qty = qty - 1
  WHERE id = 1` (one statement, one row, its own transaction), in a scratch database of
  the same cluster: what PostgreSQL can do on one row with nothing else in the way.
- **replay**: the statements a checkout runs under the stock lock (docs/performance.md),
  taken from a real checkout's captured SQL (`bench/queries.py`) and replayed on its
  SKU's rows in a copy of the bench database, the same way as ever (pgbench's simple
  protocol, the parameters inlined, as many clients as the minimal). A paid checkout
  locks the rows twice, each time by one autocommitted statement and for that
  statement alone: its hold before the PSP is asked (its products' stock version
  counted first, before any row is locked, and the statement marked counted so that
  no trigger runs under the lock: `catalog.stock_versions`; then the rows `FOR UPDATE`,
  their counter raised, the hold's insert) and, once paid, the hold turned into an
  allocation under the hold's name (the rows `FOR UPDATE`, `allocated` raised, the
  allocations' insert; no trigger fires: the row's `allocated + reserved_units` stays
  as it was). Exactly those two statements as captured are replayed. The order's
  transaction then relabels those allocation rows, touching no stock row: it is not
  replayed. One run of the script is both statements, under a holder of its own. Its
  rate is the ceiling of a hot SKU's sales with unlimited API nodes: nothing but these
  statements holds the lock, and no round trip to a client happens while it is held.

`hot_ceiling_vs_pgbench` in `var/bench/latest.json` is replay ÷ minimal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

DATABASE = "bench_hot_row"
REPLAY_DATABASE = "bench_hot_replay"
STOCK = 1_000_000_000  # the row's starting quantity, as in SCHEMA
SCHEMA = (
    "DROP TABLE IF EXISTS hot_stock; "
    "CREATE TABLE hot_stock (id integer PRIMARY KEY, qty integer NOT NULL CHECK (qty >= 0)); "
    "INSERT INTO hot_stock VALUES (1, 1000000000);"
)
MINIMAL_SCRIPT = "UPDATE hot_stock SET qty = qty - 1 WHERE id = 1;\n"
# The replayed rows get stock enough never to run out (the constraint allocated <= on_hand).
REPLAY_STOCK = 1_000_000_000
LOCK = re.compile(r'"inventory_stocklevel".*FOR UPDATE', re.DOTALL)
# The holders of the captured checkout, each replaced by one unique to a run of the script
# (pgbench's `:client_id` and a random `:run`): the hold's (also the allocation's, taken
# under the hold's name), then an order's (in a captured checkout of an earlier design).
HOLDERS = (
    (re.compile(r"'checkout:[0-9a-f]+'"), "('pgbench-hold:' || :client_id || ':' || :run)"),
    (re.compile(r"'order:\d+'"), "('pgbench:' || :client_id || ':' || :run)"),
)
RUN = "\\set run random(1, 1000000000000000)"


class NoLockedStatements(RuntimeError):
    """The captured checkout has no stock lock: nothing to replay."""


def under_the_lock(statements: list[str]) -> list[list[str]]:
    """Each stretch from a statement locking the stock rows to its COMMIT (both included);
    a locking statement run outside a transaction (autocommitted) is a stretch alone."""
    stretches: list[list[str]] = []
    index = 0
    while True:
        start = next((i for i in range(index, len(statements)) if LOCK.search(statements[i])), None)
        if start is None:
            break
        if _autocommitted(statements, start):
            stretches.append([statements[start]])
            index = start + 1
            continue
        if "COMMIT" not in statements[start:]:
            raise NoLockedStatements("a stock lock with no COMMIT after it in the checkout's SQL")
        end = statements.index("COMMIT", start)
        stretches.append(statements[start : end + 1])
        index = end + 1
    if not stretches:
        raise NoLockedStatements("no stock lock followed by COMMIT in the checkout's SQL")
    return stretches


def _autocommitted(statements: list[str], index: int) -> bool:
    """Whether statement `index` ran outside any BEGIN ... COMMIT/ROLLBACK."""
    opened = False
    for sql in statements[:index]:
        if sql == "BEGIN":
            opened = True
        elif sql in ("COMMIT", "ROLLBACK"):
            opened = False
    return not opened


def _holders_unique(sql: str) -> str:
    for pattern, replacement in HOLDERS:
        sql = pattern.sub(replacement, sql)
    return sql


def replay_script(statements: list[str]) -> str:
    """The pgbench script of a checkout's statements under the stock lock.

    A random `:run`, then for each locked stretch `BEGIN`, each statement as captured
    (parameters inlined, the holders made unique to the run) and `COMMIT`; an
    autocommitted one as it ran, alone.
    """
    lines = [RUN]
    for stretch in under_the_lock(statements):
        if stretch[-1] != "COMMIT":
            lines += [_holders_unique(" ".join(stretch[0].split())) + ";"]
            continue
        body = [_holders_unique(" ".join(sql.split())) + ";" for sql in stretch[:-1]]
        lines += ["BEGIN;", *body, "COMMIT;"]
    return "\n".join(lines) + "\n"


def one_round_trip(script: str) -> str:
    """The same script sent as one request (pgbench's `\\;` joins statements): how much of
    the replay's time under the lock is round trips rather than the statements' work."""
    lines = [line for line in script.splitlines() if line.strip()]
    meta = [line for line in lines if line.startswith("\\")]
    statements = [line.rstrip(";") for line in lines if not line.startswith("\\")]
    return "\n".join([*meta, " \\; ".join(statements) + ";"]) + "\n"


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


def _pgbench(
    connect: list[str], database: str, script: Path, clients: int, threads: int, seconds: int
) -> dict[str, float | int]:
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
            database,
        ]
    )
    failed = re.search(r"number of failed transactions: (\d+)", output)
    return {
        "tps": round(float(re.search(r"tps = ([0-9.]+)", output).group(1)), 1),
        "latency_avg_ms": float(re.search(r"latency average = ([0-9.]+) ms", output).group(1)),
        "transactions": int(re.search(r"actually processed: (\d+)", output).group(1)),
        "failed": int(failed.group(1)) if failed else 0,
    }


def hot_row_rates(
    *,
    port: int,
    clients: int,
    threads: int,
    seconds: int,
    work_dir: Path,
    checkout_statements: list[str],
    source_database: str = "backoffice",
) -> dict[str, object]:
    """Run both pgbench scripts one after the other; their rates, checked against the rows.

    The source database must have no other session (it is copied as a template).
    """
    connect = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]

    def psql(database: str, sql: str, *options: str) -> str:
        return _run(
            [_tool("psql"), *connect, "-d", database, "-v", "ON_ERROR_STOP=1", *options, "-c", sql]
        )

    # The minimal hot-row transaction.
    psql("postgres", f"DROP DATABASE IF EXISTS {DATABASE}")
    _run([_tool("createdb"), *connect, DATABASE])
    psql(DATABASE, SCHEMA, "-q")
    minimal_file = work_dir / "pgbench-minimal.sql"
    minimal_file.write_text(MINIMAL_SCRIPT)
    minimal = _pgbench(connect, DATABASE, minimal_file, clients, threads, seconds)
    qty = int(psql(DATABASE, "SELECT qty FROM hot_stock WHERE id = 1", "-At").strip())
    if STOCK - qty < minimal["transactions"]:
        raise RuntimeError(
            f"pgbench minimal: {minimal['transactions']} runs, stock fell {STOCK - qty}"
        )

    # The checkout's statements under the stock lock, on a copy of the bench database.
    script = replay_script(checkout_statements)
    replay_file = work_dir / "pgbench-replay.sql"
    replay_file.write_text(script)
    psql("postgres", f"DROP DATABASE IF EXISTS {REPLAY_DATABASE}")
    psql("postgres", f"CREATE DATABASE {REPLAY_DATABASE} TEMPLATE {source_database}")
    psql(REPLAY_DATABASE, f"UPDATE inventory_stocklevel SET on_hand = {REPLAY_STOCK}")  # noqa: S608
    replay = _pgbench(connect, REPLAY_DATABASE, replay_file, clients, threads, seconds)
    joined_file = work_dir / "pgbench-replay-one-trip.sql"
    joined_file.write_text(one_round_trip(script))
    joined = _pgbench(connect, REPLAY_DATABASE, joined_file, clients, threads, seconds)
    made = int(
        psql(
            REPLAY_DATABASE,
            "SELECT count(*) FROM inventory_allocation WHERE holder LIKE 'pgbench%'",
            "-At",
        ).strip()
    )
    if made < replay["transactions"] + joined["transactions"]:
        raise RuntimeError(f"pgbench replay: {replay['transactions']} runs, {made} allocations")
    psql("postgres", f"DROP DATABASE IF EXISTS {REPLAY_DATABASE}")
    ratio = replay["tps"] / minimal["tps"] if minimal["tps"] else None
    return {
        "clients": clients,
        "threads": threads,
        "seconds": seconds,
        "minimal": {**minimal, "script": MINIMAL_SCRIPT},
        "replay": {**replay, "script": script},
        # Not a target: the replay's statements in one request, to see what round trips cost.
        "replay_one_round_trip": {**joined, "script": one_round_trip(script)},
        "replay_vs_minimal": round(ratio, 3) if ratio is not None else None,
        # As before this round, for the report's pgbench row: the minimal transaction.
        "tps": minimal["tps"],
        "latency_avg_ms": minimal["latency_avg_ms"],
        "transactions": minimal["transactions"],
    }
