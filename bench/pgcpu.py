"""PostgreSQL's own CPU, measured from the server side: the cluster's processes in /proc.

What a scenario cost the database is the CPU time (user + system, `/proc/<pid>/stat`
fields 14 and 15) of every process of the bench's PostgreSQL cluster, taken before and
after it: the backends serving gunicorn's connections, and the WAL writer, checkpointer
and background writer that their commits keep busy. Backends that exit on the way are
counted too: the postmaster reaps them, and their time moves into its own `cutime` and
`cstime` (fields 16 and 17). The bench's cluster is its own (`scripts/with-services.sh`),
so no other work is in the sum but the bench's once-a-second `pg_stat_activity` sample.

This is the total; `bench/pgstat.py` (`pg_stat_statements`) says where it goes. That
extension counts only the time inside statements' planning and execution (not parsing,
the protocol, commits, WAL flushing); /proc counts all of the database's CPU, which is
what does not scale out with more API nodes.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    return stat[stat.rindex(")") + 2 :].split()


def postmaster_pid(backend_pid: int) -> int:
    """The cluster's postmaster: the parent of any of its backends."""
    fields = _fields(backend_pid)
    if fields is None:
        raise RuntimeError(f"no process {backend_pid}: is PostgreSQL on this machine?")
    return int(fields[1])


def cluster_cpu(postmaster: int) -> dict[str, float]:
    """CPU seconds used so far by the cluster, by kind of process: `backends` (sessions),
    `background` (WAL writer, checkpointer, autovacuum...) and `exited` (the postmaster
    itself with the time of the children it reaped: backends and autovacuum workers that
    ended).

    A consistent reading: a child reaped while /proc is walked would be counted nowhere
    (walked after it was reaped, the postmaster read before) or twice, so the walk is
    taken again until the postmaster's own figures are the same before and after it.
    """
    for _ in range(20):
        before = _fields(postmaster)
        ticks = _children_ticks(postmaster)
        after = _fields(postmaster)
        if before is not None and before[11:15] == (after or [])[11:15]:
            break
    ticks["exited"] = sum(int(value) for value in (after or before or [0] * 15)[11:15])
    return {kind: value / TICKS for kind, value in ticks.items()}


def _children_ticks(postmaster: int) -> dict[str, int]:
    ticks = {"backends": 0, "background": 0, "exited": 0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == postmaster:
            continue
        fields = _fields(int(entry.name))
        # After the command name: state (0), ppid (1), ...; utime is field 14 of the whole
        # line, so index 11 here; stime 12 (cutime 13, cstime 14: the postmaster's).
        if fields is not None and int(fields[1]) == postmaster:
            kind = "backends" if _is_backend(int(entry.name)) else "background"
            ticks[kind] += int(fields[11]) + int(fields[12])
    return ticks


def _is_backend(pid: int) -> bool:
    """A session's process calls itself `postgres: <user> <database> <client> ...`."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return "(" in title  # the client's address and port: only sessions show one


def cluster_postmaster(database_url: str) -> int:
    """The postmaster of the cluster at `database_url`, read while a session of it is open
    (a backend exits as soon as its connection closes)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        return postmaster_pid(connection.execute("SELECT pg_backend_pid()").fetchone()[0])


class ClusterCpu:
    """Before/after readings of the cluster's CPU, for one scenario at a time."""

    def __init__(self, database_url: str) -> None:
        self.postmaster = cluster_postmaster(database_url)

    def reading(self) -> dict[str, float]:
        return cluster_cpu(self.postmaster)

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds between two readings, by kind and in all (`total`)."""
        spent = {kind: round(after[kind] - before[kind], 3) for kind in before}
        return {**spent, "total": round(sum(spent.values()), 3)}


def per_operation_ms(cpu_seconds: float, operations: int) -> float | None:
    return round(cpu_seconds * 1000 / operations, 3) if operations else None
