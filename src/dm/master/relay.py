"""start-relay, stop-relay, pause-relay, resume-relay and purge-relay on the leader.

The relay's expected stage lives in etcd per source (DM's `/dm-master/v2/stage/relay/`);
the worker bound to the source follows it (worker/node.py). pydm relays a source on the
worker bound to it: a start-relay naming another worker is refused.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from dm import errors
from dm.master.state import ClusterState
from dm.master.tasks import poke_sources

_STAGES = {"start": "Running", "resume": "Running", "pause": "Paused", "stop": None}


async def operate_relay(state: ClusterState, op: str, sources: list[str],
                        workers: list[str]) -> dict[str, Any]:
    if not sources:
        raise errors.MASTER_BAD_REQUEST(detail=f"{op}-relay needs -s <source>")
    existing = await state.sources()
    bound = {s: w for w, s in (await state.bounds()).items()}
    for source in sources:
        if source not in existing:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=source)
        wrong = [w for w in workers if w != bound.get(source)]
        if wrong:
            raise errors.RELAY_WORKERS_WRONG_BOUND(
                workers=", ".join(wrong), source=source,
                bound=f"bound to {bound[source]}" if source in bound else "bound to none")
        if op in ("pause", "resume") and await state.relay_stage(source) is None:
            raise errors.RELAY_NOT_STARTED(source=source, op=op)
    for source in sources:
        await state.set_relay_stage(source, _STAGES[op])
    await poke_sources(state, sources)
    return {"result": True, "msg": "",
            "sources": [{"result": True, "msg": "", "source": s, "worker": bound.get(s, "")}
                        for s in sources]}


async def purge_relay(state: ClusterState, source: str, filename: str,
                      sub_dir: str) -> dict[str, Any]:
    """Ask the worker relaying `source` to delete its relay files before `filename`."""
    if source not in await state.sources():
        raise errors.MASTER_SOURCE_NOT_FOUND(source=source)
    if await state.relay_stage(source) is None:
        raise errors.RELAY_NOT_STARTED(source=source, op="purge")
    worker = {s: w for w, s in (await state.bounds()).items()}.get(source)
    workers = await state.workers()
    if worker is None or worker not in workers:
        raise errors.SOURCE_NOT_BOUND(source=source)
    address = workers[worker].address
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http, \
                http.post(f"http://{address}/api/v1/relay/purge",
                          json={"filename": filename, "sub_dir": sub_dir}) as resp:
            answer = dict(await resp.json())
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.MASTER_WORKER_UNREACHABLE(exc, worker=worker, address=address,
                                               detail=str(exc) or type(exc).__name__) from exc
    entry = {"result": answer["result"], "msg": answer["msg"], "source": source,
             "worker": worker}
    return {"result": answer["result"], "msg": "", "sources": [entry]}  # DM's shape
