"""Work another layer commits together with a service's own writes, in the service's transaction.

A service that owns its transaction (placing an order) takes a `CommitPartner`: the HTTP
layer's idempotency record is one. The service calls `begin()` first thing inside its
transaction (the record's lock, first in the lock order: docs/architecture.md) and
`finish(result)` once its own writes are done but before it locks its hot rows (the
stock), so that whatever the partner does (render and store the answer) never runs while
other checkouts queue on those rows. Both commit, or roll back, with the service's writes.
"""

from __future__ import annotations

from typing import Protocol

# One SQL statement and its parameters, for a service to run with (or as part of) its own.
Statement = tuple[str, list]


class CommitPartner(Protocol):
    def begin(self) -> None:
        """First inside the service's transaction; may raise to stop before any write."""

    def finish(self, result: object) -> Statement | None:
        """After the service's writes, before its hot locks; `result` is what it returns.

        Returns the partner's own write, if any, for the service to run in its transaction
        before its hot locks: alone, or inside its last write's statement (on PostgreSQL, a
        `WITH`: one round trip less; `backoffice.sql.rows_insert`)."""


class NoPartner:
    """Nothing to commit alongside (a caller without an HTTP answer to store)."""

    def begin(self) -> None:
        pass

    def finish(self, result: object) -> Statement | None:
        return None


NO_PARTNER = NoPartner()
