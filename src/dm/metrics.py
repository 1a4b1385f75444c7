"""Prometheus metrics with DM's names (namespace `dm`), served on `/metrics`."""

from __future__ import annotations

import contextlib

from prometheus_client import Gauge

STAGE_VALUES = {"New": 1, "Running": 2, "Paused": 3, "Stopped": 4, "Finished": 5}

TASK_STATE = Gauge("dm_worker_task_state", "state of a subtask: 0 invalid, 1 New, 2 Running, "
                   "3 Paused, 4 Stopped, 5 Finished", ["task", "source_id"])
LOADER_PROGRESS = Gauge("dm_loader_progress", "share of the chunks loaded (0..1)",
                        ["task", "source_id"])
LOADER_BYTES = Gauge("dm_loader_data_size_gauge", "bytes loaded so far", ["task", "source_id"])


def forget_task(task: str, source_id: str) -> None:
    """A stopped subtask's series disappear, as in DM."""
    for metric in (TASK_STATE, LOADER_PROGRESS, LOADER_BYTES):
        with contextlib.suppress(KeyError):
            metric.remove(task, source_id)
