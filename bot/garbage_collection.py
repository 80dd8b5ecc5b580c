"""The garbage collector tuned for a long-running bot process (measured in benchmarks/README.md, "Issue 8:
garbage collection and the card").

With Python's defaults (a young collection every 700 allocations), the objects of the updates in flight are
often alive at a young collection; they are promoted, and every few promotions a full collection walks the whole
heap: the modules, aiogram's and pydantic's types, the catalogs, the caches. At 64 presses in flight that was a
full collection of ~0.4 s every ~1.5 s, a quarter of the process's time, and every update in flight waited for it."""

from __future__ import annotations

import gc

# Allocations between young collections: an update's short-lived objects mostly die before one runs.
YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Call once the process is assembled (imports, dispatcher, catalogs): what exists then lives until the process
    ends, so it is frozen (full collections no longer walk it), and young collections run less often."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
