"""dm-master's series read at each scrape (dm.metrics.STATE): each worker's state and the
pending shard DDL locks, as etcd has them; only the leader reports them, as in DM, where
the scheduler that sets them runs on the leader alone."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dm.master import ddllocks
from dm.master.members import worker_stages
from dm.master.state import ClusterState
from dm.metrics import SHARD_DDL_ERRORS, STATE, WORKER_STATE_VALUES

_SERIES = ("dm_master_worker_state", "dm_master_ddl_state_number")


class MasterCollector(Collector):
    def __init__(self) -> None:
        self._samples: dict[str, list[tuple[tuple[str, ...], float]]] = {}

    async def refresh(self, state: ClusterState, leading: bool) -> None:
        """Read etcd now (before the scrape's `collect`); a follower reports nothing."""
        samples: dict[str, list[tuple[tuple[str, ...], float]]] = {n: [] for n in _SERIES}
        if leading:
            for worker in await worker_stages(state):
                samples["dm_master_worker_state"].append(
                    ((worker["name"],), WORKER_STATE_VALUES.get(worker["stage"], -1)))
            pending: dict[tuple[str, str], int] = {}
            for lock in (await ddllocks.show_locks(state, "", []))["locks"]:
                kind = "Un-synced" if lock["unsynced"] else "Synced"
                pending[(lock["task"], kind)] = pending.get((lock["task"], kind), 0) + 1
            samples["dm_master_ddl_state_number"] = [(k, n) for k, n in sorted(pending.items())]
            for (_, task), doc in (await state.subtasks()).items():  # from 0: the first
                if doc.get("shard-mode"):  # error is a change (DM_DDL_error looks for one)
                    SHARD_DDL_ERRORS.labels(task, "unlock")
        self._samples = samples

    def collect(self) -> Iterator[GaugeMetricFamily]:
        samples = self._samples
        for name in _SERIES:
            yield STATE[name].family(samples.get(name, []))
