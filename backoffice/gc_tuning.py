"""The garbage collector of a server process, tuned once the application has loaded.

A request allocates thousands of short-lived objects (querysets, serializer fields, row
tuples); with CPython's default threshold (700 allocations) the youngest generation is
collected several times a request, and every tenth of those walks the middle one. The
objects loaded at startup (modules, models, URL patterns, settings: most of the heap)
are also walked by every full collection, a pause that lands on whichever request is
running. So, after startup:

- `gc.freeze()` moves everything alive into the permanent generation, which the
  collector never walks (it is still freed at exit; reference counting frees what is
  not in a cycle, as always);
- the youngest generation's threshold is raised (`GC_GEN0_THRESHOLD`, 10,000 by
  default): fewer, slightly longer collections. `GC_GEN0_THRESHOLD=0` leaves the
  collector as Python sets it.

Reference cycles are still collected; only how often changes.
"""

from __future__ import annotations

import gc
import os

DEFAULT_GEN0_THRESHOLD = 10_000


def gc_tune_after_startup() -> bool:
    """Freeze the startup heap and raise gen-0's threshold; False when turned off."""
    threshold = int(os.environ.get("GC_GEN0_THRESHOLD", DEFAULT_GEN0_THRESHOLD))
    if threshold <= 0:
        return False
    gc.collect()  # what startup left as garbage is freed, not frozen
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)
    return True
