"""The collector's tuning for long-running processes (bot/garbage_collection.py)."""

import gc

from bot.garbage_collection import YOUNG_THRESHOLD, tune_garbage_collector


def test_what_exists_at_startup_is_frozen_and_young_collections_run_less_often():
    defaults = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_freeze_count() > 0  # full collections no longer walk the start-up objects
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *defaults[1:])
        garbage = [[]]
        garbage[0].append(garbage)  # a cycle: only the collector frees it
        del garbage
        assert gc.collect() > 0  # the collector still runs
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
