"""The bench's own measurements, cheaply: its baseline endpoint, the SQL it replays with
pgbench, PostgreSQL's CPU read from /proc, and the `ratios` of a run. Nothing timed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import pgcpu
from bench.models import BaselineNote
from bench.pgbench import one_round_trip, replay_script, under_the_lock
from bench.queries import count_queries
from bench.report import RATIO_TARGETS, build, ratio_met, targets
from bench.seed import seed
from inventory.models import Allocation, Reservation
from tests.orders.test_query_counts import CART_LINE_ADD_BUDGET, CHECKOUT_BUDGET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bench_site(settings):
    """The bench's URLconf and its table, as `bench.settings` gives them to `make bench`."""
    settings.ROOT_URLCONF = "bench.urls"
    with connection.schema_editor() as editor:
        editor.create_model(BaselineNote)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(BaselineNote)


def test_the_baseline_endpoint_answers_201_with_one_insert(bench_site):
    with CaptureQueriesContext(connection) as queries:
        response = Client().post(
            "/bench/baseline", {"name": "note", "quantity": 3}, content_type="application/json"
        )

    assert response.status_code == 201, response.content
    assert response.json()["quantity"] == 3
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 1, statements
    assert statements[0].startswith('INSERT INTO "bench_baselinenote"')
    assert BaselineNote.objects.get().name == "note"


def test_the_baseline_is_not_routed_by_the_product(db):
    response = Client().post("/bench/baseline", {"name": "x", "quantity": 1})

    assert response.status_code == 404


def test_pgbench_replays_the_real_statements_under_the_stock_lock(bench_site):
    seeded = seed(products=3, flash_stock=20)
    measured = count_queries(
        keys=seeded.keys, skus=seeded.skus, slugs=seeded.slugs, slots=seeded.delivery_slots
    )
    checkout = measured["statements"]["checkout_1_line"]
    assert measured["counts"]["baseline"] == 1
    assert measured["counts"]["checkout_1_line"] == measured["counts"]["checkout_20_line"]
    assert measured["counts"]["checkout_1_line"] <= CHECKOUT_BUDGET
    assert measured["counts"]["cart_add_line"] <= CART_LINE_ADD_BUDGET

    script = replay_script(checkout)
    hold, allocation = under_the_lock(checkout)  # a paid checkout locks its rows twice

    lines = script.splitlines()
    assert lines[0].startswith("\\set run ")
    # The hold, then the allocation: each one autocommitted statement, no BEGIN ... COMMIT
    # stretch on the stock rows (the order's transaction locks none).
    assert len(hold) == 1 and len(allocation) == 1 and len(lines) == 3
    assert "BEGIN;" not in lines and "COMMIT;" not in lines
    assert "FOR UPDATE" in lines[1] and '"inventory_stocklevel"' in lines[1]
    assert 'INSERT INTO "inventory_reservation"' in lines[1]
    # The hold counts its product's stock version itself, before its lock, and marks
    # itself counted (no trigger under the lock): replayed as it ran.
    assert 'INSERT INTO "versions_itemversion"' in lines[1]
    assert "set_config('stock_versions.counted'" in lines[1]
    assert lines[2].startswith("WITH wanted ") and "'order:" not in lines[2]
    assert 'gone AS (DELETE FROM "inventory_reservation"' in lines[2]
    assert 'INSERT INTO "inventory_allocation"' in lines[2]
    assert "'checkout:" not in script
    # The statements run as they stand, each run under holders of its own.
    for run in range(2):
        with connection.cursor() as cursor:
            for sql in lines[1:]:
                sql = sql.replace(":client_id", "7").replace(":run", str(run))
                cursor.execute(sql.rstrip(";"))
    assert Allocation.objects.filter(holder__startswith="pgbench-hold:").count() == 2
    assert not Reservation.objects.filter(holder__startswith="pgbench-hold:").exists()
    assert "\\;" in one_round_trip(script) and one_round_trip(script).startswith("\\set run ")


def test_postgres_cpu_is_read_from_the_clusters_processes(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = pgcpu.postmaster_pid(backend)

    first = pgcpu.cluster_cpu(postmaster)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM generate_series(1, 200000)")
    second = pgcpu.cluster_cpu(postmaster)

    assert pgcpu._is_backend(backend)
    assert set(first) == {"backends", "background", "exited"}
    spent = pgcpu.ClusterCpu.spent(first, second)
    # A process that exits between the readings moves its time from its kind to `exited`,
    # so a kind may fall; the total never does.
    assert spent["total"] >= 0
    assert spent["exited"] >= 0
    assert spent["total"] == pytest.approx(sum(v for k, v in spent.items() if k != "total"))
    assert pgcpu.per_operation_ms(1.5, 1000) == 1.5
    assert pgcpu.per_operation_ms(1.5, 0) is None


def _scenario(requests_per_s: float, orders_per_s: float = 0.0, **extra) -> dict:
    return {
        "requests_per_s": requests_per_s,
        "orders_per_s": orders_per_s,
        "errors": {},
        **extra,
    }


SAMPLE = {
    "baseline": _scenario(400.0),
    "browse": _scenario(260.0),
    "checkout": _scenario(
        150.0,
        150.0,
        pg_cpu_ms_per_order=1.2,
        latency_ms={"checkout": {"p99": 240.0}},
    ),
    "flash-sale": _scenario(100.0, 60.0, orders_per_s_until_last=140.0),
}
PGBENCH = {"minimal": {"tps": 2000.0}, "replay": {"tps": 1100.0}}


def _document(**changes) -> dict:
    return build(
        mode="quick",
        started=datetime(2026, 12, 1, tzinfo=UTC),
        duration=1.0,
        server="test",
        results=changes.get("results", SAMPLE),
        queries={"counts": {"checkout_1_line": 12, "checkout_20_line": 11}, "statements": {}},
        pgbench=changes.get("pgbench", PGBENCH),
        memory={},
        flash=[{"check": "oversold units", "expected": 0, "actual": 0, "ok": True}],
        pg_version="15",
        load_average={"start": "0", "end": "0"},
    )


def test_the_ratios_of_a_run_are_taken_from_its_own_scenarios():
    document = _document()

    assert document["ratios"] == {
        "checkout_vs_baseline": 0.375,
        "browse_vs_baseline": 0.65,
        "flash_vs_checkout": 0.933,
        "hot_ceiling_vs_pgbench": 0.55,
        "pg_cpu_ms_per_checkout": 1.2,
        "sql_per_checkout": 12,
        "checkout_p99_ms": 240.0,
        "oversold": 0,
    }
    assert list(document["ratios"]) == list(RATIO_TARGETS)
    assert all(ratio_met(name, value) for name, value in document["ratios"].items())


def test_each_ratio_is_shown_against_its_target_missed_or_not_measured():
    results = {**SAMPLE, "checkout": {**SAMPLE["checkout"], "orders_per_s": 100.0}}
    document = _document(results=results, pgbench=None)
    rows = {row["target"].split("`")[1]: row for row in targets(document) if "`" in row["target"]}

    assert list(rows) == list(RATIO_TARGETS)
    assert rows["checkout_vs_baseline"]["ok"] is False  # 100 / 400
    assert rows["checkout_vs_baseline"]["goal"] == ">= 35%"
    assert rows["hot_ceiling_vs_pgbench"]["ok"] is None  # no pgbench in this run
    assert rows["pg_cpu_ms_per_checkout"]["goal"] == "<= 1.5"
    assert ratio_met("oversold", 1) is False
    assert ratio_met("checkout_p99_ms", 250) is False
