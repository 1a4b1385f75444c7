"""Prometheus metrics with DM's names, types and labels (DM §14.1), served on `/metrics` of
dm-master and dm-worker; docs/monitoring.md lists them.

Two kinds. What a unit records as it works (finished jobs and transactions, exits with an
error, lag and execution times) lives in the objects below. What a unit *is* (stages,
binlog positions, progress, relay space) is read from its state when Prometheus scrapes,
by the collectors in dm.worker.metrics and dm.master.metrics, described in `STATE`: nothing
on the hot path, and a stopped subtask's series are gone at once (DM 2.0.3); its recorded
series are removed by `SyncRecorder.forget` and `forget_task` (its exit counts).

DM's counters whose names do not end in `_total` (`dm_syncer_exit_with_error_count`,
`dm_relay_read_error_count`, ...) keep those names: Prometheus' Python client would add
`_total` to a counter, so they are exported as gauges that only go up.
"""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily

disable_created_metrics()  # type: ignore[no-untyped-call]  # DM exports no `_created`


def _exponential(start: float, factor: float, count: int) -> list[float]:
    return [start * factor ** i for i in range(count)]


# --- recorded as the units work -----------------------------------------------------------
SYNC_LABELS = ["task", "source_id", "worker"]
FINISHED_JOBS = Counter(
    "dm_syncer_finished_jobs", "total number of finished jobs",
    ["type", "task", "queueNo", "source_id", "worker", "target_schema", "target_table"])
FINISHED_TRANSACTIONS = Counter("dm_syncer_finished_transaction",
                                "total number of finished transaction", SYNC_LABELS)
REPLICATION_LAG = Histogram("dm_syncer_replication_lag", "replication lag histogram in "
                            "second between mysql and syncer", SYNC_LABELS,
                            buckets=_exponential(0.5, 2, 12))
TXN_DURATION = Histogram("dm_syncer_txn_duration_time", "Bucketed histogram of processing "
                         "time (s) of a txn.", SYNC_LABELS,
                         buckets=_exponential(0.000005, 2, 25))
QUERY_DURATION = Histogram("dm_syncer_query_duration_time", "Bucketed histogram of query "
                           "time (s).", SYNC_LABELS, buckets=_exponential(0.000005, 2, 25))
FLUSH_INTERVAL = Histogram("dm_syncer_flush_checkpoints_time_interval", "checkpoint flushed "
                           "time interval in seconds", SYNC_LABELS,
                           buckets=[1 + 50 * i for i in range(21)])  # DM's linear buckets
_EXIT_LABELS = ["task", "source_id", "resumable_err"]
EXITS = {  # by unit, as query-status names them
    "Dump": Gauge("dm_mydumper_exit_with_error_count",
                  "counter for mydumper exit with error", _EXIT_LABELS),
    "Load": Gauge("dm_loader_exit_with_error_count",
                  "counter for loader exits with error", _EXIT_LABELS),
    "Sync": Gauge("dm_syncer_exit_with_error_count",
                  "counter for syncer exits with error", _EXIT_LABELS),
}
RELAY_EXITS = Gauge("dm_relay_exit_with_error_count",
                    "counter of relay unit exits with error", ["resumable_err"])
RELAY_READ_ERRORS = Gauge("dm_relay_read_error_count",
                          "counter of errors reading the binlog from the upstream")
RELAY_WRITE_ERRORS = Gauge("dm_relay_write_error_count",
                           "counter of errors writing the relay log")
RELAY_CORRUPTION = Gauge("dm_relay_data_corruption",
                         "counter of corrupted relay log files found (a torn tail cut)")
START_LEADER = Gauge("dm_master_start_leader_counter",
                     "number of this dm-master try to start leader components")
SHARD_DDL_ERRORS = Gauge("dm_master_shard_ddl_error",
                         "number of shard DDL lock/operation error", ["task", "type"])

for _resumable in ("true", "false"):  # there from 0: the first exit is a change
    RELAY_EXITS.labels(_resumable)
_BY_SYNC: dict[str, Counter | Histogram] = {  # SyncRecorder's children, by attribute
    "transactions": FINISHED_TRANSACTIONS, "lag": REPLICATION_LAG,
    "txn_duration": TXN_DURATION, "query_duration": QUERY_DURATION,
    "flush_interval": FLUSH_INTERVAL}


@dataclass(frozen=True)
class State:
    """A series read from the units' state at each scrape."""

    name: str
    help: str
    labels: tuple[str, ...]

    def family(self, samples: Iterable[tuple[tuple[str, ...], float]]) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.help, labels=self.labels)
        for labels, value in samples:
            family.add_metric(labels, value)
        return family


STATE = {s.name: s for s in (
    State("dm_worker_task_state", "state of task, 0 - invalidStage, 1 - New, 2 - Running, "
          "3 - Paused, 4 - Stopped, 5 - Finished", ("task", "source_id", "worker")),
    State("dm_syncer_binlog_file", "current binlog file index", ("node", "task", "source_id")),
    State("dm_syncer_binlog_pos", "current binlog pos", ("node", "task", "source_id")),
    State("dm_syncer_replication_lag_gauge", "replication lag gauge in second between mysql "
          "and syncer", ("task", "source_id", "worker")),
    State("dm_syncer_remaining_time", "the remaining time in second to catch up master",
          ("task", "source_id", "worker")),
    State("dm_syncer_shard_lock_resolving", "waiting shard DDL lock to be resolved",
          ("task", "source_id")),
    State("dm_syncer_unsynced_table_number", "number of unsynced tables in the subtask",
          ("task", "table", "source_id")),
    State("dm_loader_progress", "the processing progress of loader in percentage",
          ("task", "source_id")),
    State("dm_loader_data_size_gauge", "data size total", ("task", "source_id")),
    State("dm_loader_table_gauge", "table total", ("task", "source_id")),
    State("dm_loader_data_file_gauge", "data files in total", ("task", "source_id")),
    State("dm_relay_binlog_file", "current binlog file index", ("node",)),
    State("dm_relay_binlog_pos", "current binlog pos", ("node",)),
    State("dm_relay_space", "the space of storage for relay component", ("type",)),
    State("dm_master_worker_state", "state of worker, -1 - unrecognized, 0 - offline, "
          "1 - free, 2 - bound", ("worker",)),
    State("dm_master_ddl_state_number", "number of pending DDL in different states, "
          "Un-synced (waiting all upstream), Synced (all upstream finished, waiting all "
          "downstream)", ("task", "type")),
)}

STAGE_VALUES = {"New": 1, "Running": 2, "Paused": 3, "Stopped": 4, "Finished": 5}
WORKER_STATE_VALUES = {"offline": 0, "free": 1, "relay": 1.5, "bound": 2}


def binlog_file_index(name: str) -> int:
    """`mysql-bin.000042` → 42, as DM's binlog_file series shows a file."""
    _, _, suffix = name.rpartition(".")
    return int(suffix) if suffix.isdigit() else 0


class SyncRecorder:
    """One sync unit's recorded series, their label children looked up once, when first
    used: a unit built and never run (a relay worker's standby) exports nothing."""

    def __init__(self, task: str, source_id: str, worker: str) -> None:
        self.labels = (task, source_id, worker)
        self._jobs: dict[tuple[str, str, str, str], Counter] = {}  # by kind, queue, table

    @cached_property
    def transactions(self) -> Counter:
        return FINISHED_TRANSACTIONS.labels(*self.labels)

    @cached_property
    def lag(self) -> Histogram:
        return REPLICATION_LAG.labels(*self.labels)

    @cached_property
    def txn_duration(self) -> Histogram:
        return TXN_DURATION.labels(*self.labels)

    @cached_property
    def query_duration(self) -> Histogram:
        return QUERY_DURATION.labels(*self.labels)

    @cached_property
    def flush_interval(self) -> Histogram:
        return FLUSH_INTERVAL.labels(*self.labels)

    def applied(self, queue: int, kinds: dict[tuple[str, str], Tally[str]],
                seconds: float) -> None:
        """An applier's transaction: the changes of each target table by kind (the
        appliers' threads call this; a child made twice by a race is the same child)."""
        self.txn_duration.observe(seconds)
        for (schema, table), tally in kinds.items():
            for kind, n in tally.items():
                key = (kind, f"q_{queue}", schema, table)  # DM's queue names
                child = self._jobs.get(key)
                if child is None:
                    task, source_id, worker = self.labels
                    child = self._jobs[key] = FINISHED_JOBS.labels(
                        kind, task, key[1], source_id, worker, schema, table)
                child.inc(n)

    def forget(self) -> None:
        """The unit's series go (its subtask stopped)."""
        for name, metric in _BY_SYNC.items():
            if self.__dict__.pop(name, None) is not None:  # made: remove it
                with contextlib.suppress(KeyError):
                    metric.remove(*self.labels)
        task, source_id, worker = self.labels
        for kind, queue, schema, table in list(self._jobs):
            with contextlib.suppress(KeyError):
                FINISHED_JOBS.remove(kind, task, queue, source_id, worker, schema, table)
        self._jobs.clear()


_exits: set[tuple[str, str, str, str]] = set()  # (unit, task, source_id, resumable_err)


def count_exits(units: Iterable[str], task: str, source_id: str) -> None:
    """A subtask starts: its units' exit counts are there from 0, so that the first exit
    is a change (the alert rules look for one)."""
    for unit in units:
        for resumable in ("true", "false"):
            key = (unit, task, source_id, resumable)
            if unit in EXITS and key not in _exits:
                _exits.add(key)
                EXITS[unit].labels(task, source_id, resumable).set(0)


def exited(unit: str, task: str, source_id: str, resumable: bool) -> None:
    """A subtask's unit stopped on an error (DM's `exit_with_error_count`)."""
    if unit in EXITS:
        key = (unit, task, source_id, str(resumable).lower())
        _exits.add(key)
        EXITS[unit].labels(*key[1:]).inc()


def forget_task(task: str, source_id: str) -> None:
    """A stopped subtask's exit counts disappear, as in DM (its sync unit's series go
    with `SyncRecorder.forget`)."""
    for key in [k for k in _exits if k[1:3] == (task, source_id)]:
        _exits.discard(key)
        with contextlib.suppress(KeyError):
            EXITS[key[0]].remove(*key[1:])
