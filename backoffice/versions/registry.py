"""Which tables each kind of reference data watches: apps register them when they load.

An app whose data some process caches registers its models in its `AppConfig.ready`
(`watch("catalog", "catalog.Product")`); the triggers (`backoffice.versions.triggers`)
are built from this registry, so the kernel names no app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Watched:
    kind: str
    model: str  # "app_label.ModelName"
    ignore: frozenset[str] = frozenset()  # fields whose changes alone are no change


WATCHED: dict[str, Watched] = {}


def watch(kind: str, model: str, *, ignore: tuple[str, ...] = ()) -> None:
    """Count every insert, delete and update of `model` as a change of `kind`, except an
    update that sets only fields in `ignore` (e.g. a key's `last_used_at` stamp)."""
    WATCHED[f"{kind}:{model}"] = Watched(kind=kind, model=model, ignore=frozenset(ignore))


def watched() -> list[Watched]:
    return sorted(WATCHED.values(), key=lambda item: (item.model, item.kind))
