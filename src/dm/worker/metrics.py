"""dm-worker's series read from its units at each scrape (dm.metrics.STATE): the stage of
each subtask, where its sync unit and the upstream are, its lag and remaining time, shard
groups waiting, load progress, and the relay's position and space."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dm import errors
from dm.binlog.location import Location
from dm.metrics import STAGE_VALUES, STATE, binlog_file_index
from dm.relay.unit import RelayUnit
from dm.worker.subtask import SubTask

log = logging.getLogger(__name__)
Samples = dict[str, list[tuple[tuple[str, ...], float]]]


class WorkerCollector(Collector):
    def __init__(self, worker: str, subtasks: Callable[[], dict[str, SubTask]],
                 relay: Callable[[], RelayUnit | None]) -> None:
        self.worker = worker
        self.subtasks = subtasks
        self.relay = relay

    def collect(self) -> Iterator[GaugeMetricFamily]:
        out: Samples = {name: [] for name in STATE if not name.startswith("dm_master")}
        for sub in list(self.subtasks().values()):
            out["dm_worker_task_state"].append(((sub.name, sub.source_id, self.worker),
                                                STAGE_VALUES.get(sub.stage, 0)))
            try:  # one unit's state read at a bad moment never fails the whole scrape
                if sub.full is not None:
                    _load(out, sub.name, sub.source_id, sub.full.status())
                if sub.sync is not None and sub.unit == "Sync":
                    self._sync(out, sub)
            except (OSError, ValueError, errors.DMError) as exc:
                log.warning("metrics of %s/%s skipped this scrape: %s", sub.name,
                            sub.source_id, exc)
        relay = self.relay()
        if relay is not None:
            _relay(out, relay)
        for name, samples in out.items():
            yield STATE[name].family(samples)

    def _sync(self, out: Samples, sub: SubTask) -> None:
        sync = sub.sync
        assert sync is not None
        task, source = sub.name, sub.source_id
        master, syncer = sync.locations()
        for node, at in (("master", master), ("syncer", syncer)):
            _position(out, "dm_syncer", at, (node, task, source))
        out["dm_syncer_replication_lag_gauge"].append(((task, source, self.worker),
                                                       sync.lag()))
        remaining = sync.remaining_time()
        if remaining is not None:
            out["dm_syncer_remaining_time"].append(((task, source, self.worker), remaining))
        out["dm_syncer_shard_lock_resolving"].append(((task, source),
                                                      1 if sync.waiting_lock() else 0))
        for group in sync.status()["sync"]["unresolvedGroups"]:
            out["dm_syncer_unsynced_table_number"].append(
                ((task, group["target"], source), len(group["unsynced"])))


def _position(out: Samples, prefix: str, at: Location | None, labels: tuple[str, ...]
              ) -> None:
    if at is not None:
        out[f"{prefix}_binlog_file"].append((labels, binlog_file_index(at.file)))
        out[f"{prefix}_binlog_pos"].append((labels, at.pos))


def _load(out: Samples, task: str, source: str, status: dict[str, Any]) -> None:
    load, dump = status.get("load"), status.get("dump") or {}
    if load is None:
        return
    labels = (task, source)
    progress = float(str(load.get("progress", "0 %")).rstrip(" %") or 0) / 100
    out["dm_loader_progress"].append((labels, progress))
    out["dm_loader_data_size_gauge"].append((labels, load.get("totalBytes") or
                                             load.get("finishedBytes") or 0))
    out["dm_loader_table_gauge"].append((labels, dump.get("totalTables") or 0))
    out["dm_loader_data_file_gauge"].append((labels, dump.get("totalChunks") or 0))


def _relay(out: Samples, relay: RelayUnit) -> None:
    master, written = relay.locations()
    for node, at in (("master", master), ("relay", written)):
        _position(out, "dm_relay", at, (node,))
    try:
        usage = shutil.disk_usage(relay.directory)
    except OSError:
        return  # not made yet
    out["dm_relay_space"] += [(("capacity",), usage.total), (("available",), usage.free)]
