"""Every pair of workflows that lock the same rows, run at once on real connections: no deadlock.

The system takes row locks in one order (docs/architecture.md, "Lock order"). Every
pair of workflows that lock a kind of row in common (`tests.locks.workflows`) runs
concurrently, two threads a side (one for a till sale), each thread on its own
PostgreSQL connection, all released together; LOCK_ORDER_ROUNDS times (once by
default, to keep `make test` quick; raise it for a soak run). Every outcome must be
a result or a business refusal (a DomainError), never a deadlock or another database
error; and afterwards the books agree: stock against its ledger, its allocations and
its holds, the voucher's and the link's counters against the orders and carts.
"""

from __future__ import annotations

import os

import pytest

from backoffice.exceptions import DomainError
from tests.inventory.helpers import run_in_threads
from tests.locks.workflows import PAIRS, Round, Workflow, World, books_agree, world_build

ROUNDS = int(os.environ.get("LOCK_ORDER_ROUNDS", "1"))


def _race(world: World, first: Workflow, second: Workflow) -> list[str]:
    """Run the pair ROUNDS times; returns what went wrong (nothing, when all is well)."""
    outcomes = []
    for _ in range(ROUNDS):
        round_ = Round(world)
        runs = [
            workflow.prepare(round_, index)
            for workflow in (first, second)
            for index in range(workflow.threads)
        ]
        outcomes += run_in_threads(runs)
    failures = [error for _, error in outcomes if not isinstance(error, DomainError | None)]
    if failures:
        return [f"{first.name} with {second.name}: {failure!r}" for failure in failures]
    if all(error is not None for _, error in outcomes):
        return [f"{first.name} with {second.name}: nothing succeeded, so nothing was tested"]
    return []


@pytest.mark.django_db(transaction=True)
def test_every_two_workflows_that_lock_the_same_rows_run_at_once_without_deadlock():
    # Given one shop shared by every pair (each round makes the orders, carts and links it needs)
    world = world_build()

    problems = []
    for first, second in PAIRS:
        # When the two run at the same moment, on connections of their own
        problems += _race(world, first, second)
        # Then the books still agree
        try:
            books_agree(world)
        except AssertionError as error:
            problems.append(f"books disagree after {first.name} with {second.name}: {error}")
            break

    # And no run met a deadlock or any other database error
    assert problems == []
