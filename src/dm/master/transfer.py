"""transfer-source: move a source to a chosen free worker by hand (DM §10.3).

Tasks running on the source must all be in the sync unit (the dump files of a full
phase are on the old worker's disk); they are paused, the binding moves in one etcd
transaction, and they are resumed on the new worker from the downstream checkpoints.
"""

from __future__ import annotations

import logging
from typing import Any

from dm import errors
from dm.master import tasks
from dm.master.state import ClusterState

log = logging.getLogger(__name__)


async def transfer_source(state: ClusterState, source: str, worker: str) -> dict[str, Any]:
    if source not in await state.sources():
        raise errors.MASTER_SOURCE_NOT_FOUND(source=source)
    if worker not in await state.workers():
        raise errors.WORKER_NOT_FOUND(name=worker)
    bounds = await state.bounds()
    old = next((w for w, s in bounds.items() if s == source), None)
    if old == worker:
        return {"result": True, "msg": ""}
    relay = (await state.relay_workers()).get(worker, source)
    if relay != source:
        raise errors.TRANSFER_TO_RELAY_WORKER(worker=worker, source=source, relay=relay)
    if worker not in await state.alive_workers() or worker in bounds:
        stage = "bound" if worker in bounds else "offline"
        raise errors.WORKER_NOT_FREE(name=worker, stage=stage)
    running = sorted(t for (s, t), stage in (await state.stages()).items()
                     if s == source and stage.expect == "Running")
    if old is not None and running:
        await _pause_in_sync(state, source, running)
    try:
        if not await state.rebind(source, old, worker):
            raise errors.WORKER_NOT_FREE(name=worker, stage="bound or offline")
        log.info("source %s transferred from %s to %s", source, old or "no worker", worker)
    finally:
        for task in running if old is not None else []:
            await state.set_stages(task, [source], "Running")
    return {"result": True, "msg": ""}


async def _pause_in_sync(state: ClusterState, source: str, running: list[str]) -> None:
    workers = await state.workers()
    address = workers[next(w for w, s in (await state.bounds()).items() if s == source)].address
    for task in running:
        subs = (await tasks.worker_status(address, task))["subTaskStatus"]
        if any(st.get("unit") != "Sync" for st in subs):
            raise errors.TRANSFER_NOT_IN_SYNC(tasks=running, source=source)
    for task in running:
        await state.set_stages(task, [source], "Paused")
    answers = [a for task in running
               for a in await tasks.applied_by_workers(state, task, [source], "Paused")]
    if any(a["msg"] for a in answers):
        for task in running:
            await state.set_stages(task, [source], "Running")
        raise errors.TRANSFER_PAUSE(tasks=running)
