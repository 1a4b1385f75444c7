"""Garbage-collector settings for the processes that move rows.

Replication allocates and frees millions of small tuples a second, almost none of them in
reference cycles, so CPython's default thresholds run collections (each walking every
tracked object) far more often than they find anything: measured at 15-25% of the
syncer's CPU. Objects alive at startup are frozen out of collections for good, and the
thresholds are raised; reference counting still frees nearly everything at once.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
