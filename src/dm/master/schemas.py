"""binlog-schema list|update|delete (DM 2.0's operate-schema get|set|remove) on the
leader: asked of the worker bound to each named source, which works on its paused
subtask's sync checkpoint (worker/schemas.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from dm.master.state import ClusterState
from dm.master.tasks import post_worker, task_sources

OPS = ("list", "update", "delete")


async def operate_schema(state: ClusterState, op: str, task: str, sources: list[str],
                         request: dict[str, Any]) -> dict[str, Any]:
    """`request`: database, table, and for update the statement or where to read it."""
    if not sources:  # as DM: the schemas are per source, so one must be named
        return {"result": False, "msg": "must specify at least one source", "sources": []}
    sources = await task_sources(state, task, sources)
    bound = {s: w for w, s in (await state.bounds()).items()}
    workers = await state.workers()

    async def on(source: str) -> dict[str, Any]:
        worker = bound.get(source, "")
        if worker not in workers:
            return {"result": False, "source": source, "worker": worker,
                    "msg": f"source {source} relevant worker-client not found"}
        answer = await post_worker(worker, workers[worker].address, "/api/v1/schema",
                                   {**request, "op": op, "task": task})
        return {"result": answer["result"], "msg": answer["msg"], "source": source,
                "worker": worker}

    entries = await asyncio.gather(*(on(s) for s in sources))
    return {"result": all(e["result"] for e in entries), "msg": "", "sources": entries}
