"""The bench's per-statement breakdown (`bench/pgstat.py`) and its viral browse mix
(`bench/load.py`), cheaply: arithmetic, tables and the mix's shares. Nothing timed."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bench import pgstat
from bench.load import API, FIRST_PAGE, VIRAL, Recorder, ViralMix, viral_request
from bench.report import markdown
from tests.bench.test_bench_measures import SAMPLE, _document


def _statement(query: str, calls: int, exec_ms: float, plan_ms: float, toplevel: bool = True):
    return {
        "query": query,
        "toplevel": toplevel,
        "calls": calls,
        "total_exec_ms": exec_ms,
        "total_plan_ms": plan_ms,
        "plans": calls,
        "rows": calls,
    }


def _shown(results: dict) -> dict:
    """The scenarios with what the report's table reads from each (sample values)."""
    filled = {}
    for name, result in results.items():
        latency = {
            "operation": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
            **result.get("latency_ms", {}),
        }
        filled[name] = {
            "concurrency": 32,
            "elapsed_s": 10.0,
            "requests": 100,
            "orders": 0,
            "peak_rss_mb": 1.0,
            "answers": {"200": 100},
            **result,
            "latency_ms": latency,
        }
    return filled


STATEMENTS = [
    _statement("SELECT a FROM t WHERE id = $1", 200, 40.0, 60.0),
    _statement("INSERT INTO o VALUES ($1)", 100, 80.0, 10.0),
    _statement("BEGIN", 100, 1.0, 0.0),
    _statement("INSERT INTO versions_dataversion ...", 100, 20.0, 0.5, toplevel=False),
]


def test_the_breakdown_counts_top_level_statements_per_operation_and_ranks_them():
    stats = pgstat.breakdown(STATEMENTS, 100, top=3)

    assert stats["calls"] == 400  # the trigger's statement is inside its INSERT's time
    assert stats["calls_per_op"] == 4.0
    assert stats["exec_ms_per_op"] == 1.21
    assert stats["plan_ms_per_op"] == 0.7
    assert stats["nested_calls_per_op"] == 1.0
    assert stats["nested_ms_per_op"] == 0.2
    assert stats["distinct_statements"] == 4
    assert [row["query"][:6] for row in stats["top"]] == ["SELECT", "INSERT", "INSERT"]
    first = stats["top"][0]
    assert first["mean_exec_ms"] == 0.2
    assert first["mean_plan_ms"] == 0.3
    assert first["calls_per_op"] == 2.0
    assert first["ms_per_op"] == 1.0
    assert pgstat.breakdown([], 0)["calls_per_op"] is None


def test_the_report_shows_each_scenarios_top_statements_when_the_extension_was_on():
    results = _shown(SAMPLE)
    results["checkout"]["pg_statements"] = pgstat.breakdown(STATEMENTS, 100)
    text = markdown({**_document(results=results, pgbench=None), "pg_stat_statements": "on"})

    assert "**checkout**: 4.0 statements/op, exec 1.21 ms/op, plan 0.7 ms/op" in text
    assert "| 2.0 | 0.200 | 0.300 | 1.0 | 200 | `SELECT a FROM t WHERE id = $1` |" in text
    assert "(nested) `INSERT INTO versions_dataversion ...`" in text
    assert "PostgreSQL time per statement" not in markdown(_document(results=results, pgbench=None))


def test_a_long_statement_is_folded_onto_one_cut_line():
    line = pgstat.short("SELECT  a,\n   b | c FROM " + "x" * 200, width=30)

    assert line == "SELECT a, b \\| c FROM xxxxxxx…"


DATA = {
    "keys": {"web": "k-web", "instagram": "k-ig", "chatbot": "k-bot", "pos": "k-pos"},
    "slugs": [f"p{number}" for number in range(200)],
}


def test_the_viral_mix_sends_most_views_to_a_few_hot_pages_and_a_long_tail_cold():
    rng, etags = random.Random(7), {}
    kinds, paths, keys = Counter(), Counter(), Counter()
    draws = 20_000
    for _ in range(draws):
        kind, path, key, etag = viral_request(DATA, rng, etags, VIRAL)
        kinds[kind.removesuffix("_304")] += 1
        paths[path] += 1
        keys[key] += 1
        assert etag is None  # this viewer holds no copy: nothing to revalidate

    share = {kind: count / draws for kind, count in kinds.items()}
    assert share["hot_detail"] == pytest.approx(VIRAL.hot_share, abs=0.02)
    assert share["first_page"] == pytest.approx(VIRAL.first_page_share, abs=0.02)
    assert share["tail_list"] + share["tail_detail"] == pytest.approx(0.25, abs=0.02)
    hot = [f"{API}/store/products/p{number}" for number in range(VIRAL.hot_products)]
    assert sum(paths[path] for path in [*hot, FIRST_PAGE]) / draws == pytest.approx(0.75, abs=0.02)
    assert len(paths) > 200  # the tail reaches across the catalog
    assert keys["k-ig"] / draws == pytest.approx(0.80 + 0.20 / 4, abs=0.02)


def test_returning_viewers_revalidate_hot_pages_only_with_the_etag_they_hold():
    mix = ViralMix(revalidate_share=0.5)
    rng = random.Random(3)
    etags = {
        (key, path): f'"{key}{path}"'
        for key in DATA["keys"].values()
        for path in [
            f"{API}/store/products/p0",
            f"{API}/store/products/p1",
            f"{API}/store/products/p2",
            FIRST_PAGE,
        ]
    }
    sent = Counter()
    for _ in range(4000):
        kind, path, key, etag = viral_request(DATA, rng, etags, mix)
        if kind.startswith("tail"):
            assert etag is None
            continue
        sent[etag is not None] += 1
        if etag is not None:
            assert kind.endswith("_304")
            assert etag == etags[(key, path)]

    assert sent[True] / (sent[True] + sent[False]) == pytest.approx(0.5, abs=0.03)


def test_a_304_is_an_expected_answer_of_the_browse_scenario_only():
    browse, checkout = Recorder(scenario="browse"), Recorder(scenario="checkout")
    for recorder in (browse, checkout):
        recorder.record("hot_detail_304", 0.01, 304, "")

    assert browse.errors == Counter()
    assert checkout.errors == Counter({"304": 1})


def test_the_cold_browse_is_reported_beside_the_viral_one_and_not_in_the_ratio():
    results = _shown({**SAMPLE, "browse-cold": {**SAMPLE["browse"], "requests_per_s": 1.0}})
    document = _document(results=results, pgbench=None)

    assert document["ratios"]["browse_vs_baseline"] == 0.65
    assert "| browse-cold (pages at random, not a target) |" in markdown(document)
