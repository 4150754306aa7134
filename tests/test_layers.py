"""Imports flow one way (docs/architecture.md, "Layers"): channels_api → pos → delivery →
fulfillment → orders → inventory → catalog → backoffice. A module never imports a layer
above its own, and the domain apps never import Django REST framework. Read from the
source, so an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lowest first: each layer may import itself and what comes before it.
LAYERS = [
    "backoffice",
    "catalog",
    "inventory",
    "orders",
    "fulfillment",
    "delivery",
    "pos",
    "channels_api",
]
DOMAIN = {"catalog", "inventory", "orders", "fulfillment", "delivery", "pos"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _violations() -> list[str]:
    found = []
    for rank, layer in enumerate(LAYERS):
        above = set(LAYERS[rank + 1 :])
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for name in sorted(_imports(path)):
                top = name.split(".")[0]
                if top in above or (
                    layer in DOMAIN and top in {"rest_framework", "drf_spectacular"}
                ):
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_no_module_imports_a_layer_above_its_own():
    assert _violations() == []
