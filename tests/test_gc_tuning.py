"""The server process's garbage collector after startup (backoffice/gc_tuning.py), in the
WSGI and the ASGI entry points: the startup heap frozen, gen-0's threshold raised, cycles
still collected; off with 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import gc, json, weakref
import importlib, sys
importlib.import_module(sys.argv[1])

class Node:
    pass

node = Node()
node.self = node  # a reference cycle, freed only by the collector
alive = weakref.ref(node)
del node
gc.collect()
print(json.dumps({
    "threshold": gc.get_threshold(),
    "frozen": gc.get_freeze_count(),
    "cycle_freed": alive() is None,
}))
"""


def _python_defaults() -> list[int]:
    """The thresholds of a fresh interpreter (this one may have imported backoffice.wsgi)."""
    script = "import gc, json; print(json.dumps(gc.get_threshold()))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)


def _probe(module: str = "backoffice.wsgi", **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["backoffice.wsgi", "backoffice.asgi"])
def test_the_server_process_freezes_its_startup_heap_and_collects_less_often(module):
    default = _python_defaults()
    tuned = _probe(module)
    assert tuned["threshold"] == [10_000, default[1], default[2]]
    assert tuned["frozen"] > 10_000  # modules, models, URL patterns: the startup heap
    assert tuned["cycle_freed"] is True

    assert _probe(module, GC_GEN0_THRESHOLD="2500")["threshold"][0] == 2500


def test_zero_leaves_the_collector_as_python_sets_it():
    untouched = _probe(GC_GEN0_THRESHOLD="0")
    assert untouched["threshold"] == _python_defaults()
    assert untouched["frozen"] == 0
    assert untouched["cycle_freed"] is True
