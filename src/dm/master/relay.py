"""start-relay, stop-relay, pause-relay, resume-relay and purge-relay on the leader.

As DM 5.3+, a source's relay is on in one of two ways, never both:
- `start-relay -s <source>` (or `enable-relay: true` in source.yaml): `enable-relay` in the
  stored source config; whichever worker is bound to the source relays it;
- `start-relay -s <source> <worker>...`: those workers relay it (DM's relay workers,
  `/dm-master/relay-worker/<worker>`), bound to it or free. A free one keeps a warm copy:
  it is bound to no other source, and the source goes to it first when its worker fails.
The expected stage (Running, Paused) lives per source in `/dm-master/v2/stage/relay/`;
every worker relaying the source follows it (worker/node.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from dm import errors
from dm.config.source import SourceConfig
from dm.config.stored import from_doc, to_doc
from dm.master.state import ClusterState
from dm.master.tasks import poke_sources, post_worker

_STAGES = {"pause": "Paused", "resume": "Running"}


async def operate_relay(state: ClusterState, op: str, sources: list[str],
                        workers: list[str]) -> dict[str, Any]:
    if not sources:
        raise errors.MASTER_BAD_REQUEST(detail=f"{op}-relay needs -s <source>")
    if workers and len(sources) != 1:
        raise errors.MASTER_BAD_REQUEST(detail=f"{op}-relay with worker names takes exactly "
                                               "one -s <source>")
    existing = await state.sources()
    for source in sources:
        if source not in existing:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=source)
        if op in _STAGES and await state.relay_stage(source) is None:
            raise errors.RELAY_NOT_STARTED(source=source, op=op)
    if op in _STAGES:
        for source in sources:
            await state.set_relay_stage(source, _STAGES[op])
    elif workers:
        await _by_name(state, op == "start", sources[0], workers,
                       from_doc(SourceConfig, existing[sources[0]]))
    else:
        for source in sources:
            await _for_bound(state, op == "start", from_doc(SourceConfig, existing[source]))
    await poke_sources(state, sources, also=workers)
    bound = {s: w for w, s in (await state.bounds()).items()}
    return {"result": True, "msg": "",
            "sources": [{"result": True, "msg": "", "source": s, "worker": bound.get(s, "")}
                        for s in sources]}


async def _for_bound(state: ClusterState, start: bool, cfg: SourceConfig) -> None:
    """`enable-relay` of the source on or off: the bound worker relays it, or not."""
    named = sorted(w for w, s in (await state.relay_workers()).items() if s == cfg.source_id)
    if named:
        raise (errors.START_RELAY_ON_SPECIFIED if start else errors.STOP_RELAY_ON_SPECIFIED)(
            workers=", ".join(named))
    await state.put_source(cfg.source_id, to_doc(cfg.model_copy(update={"enable_relay": start})))
    await state.set_relay_stage(cfg.source_id, "Running" if start else None)


async def _by_name(state: ClusterState, start: bool, source: str, workers: list[str],
                   cfg: SourceConfig) -> None:
    """The named workers start or stop relaying `source`, with DM's checks."""
    if cfg.enable_relay:
        raise (errors.START_RELAY_ON_BOUND if start else errors.STOP_RELAY_ON_BOUND)()
    registered = await state.workers()
    unknown = [w for w in workers if w not in registered]
    if unknown:
        raise errors.WORKER_NOT_FOUND(name=", ".join(unknown))
    relays = await state.relay_workers()
    if start:
        bounds = await state.bounds()
        elsewhere = [w for w in workers if bounds.get(w, source) != source]
        if elsewhere:
            raise errors.RELAY_WORKERS_WRONG_BOUND(
                workers=", ".join(elsewhere), sources=", ".join(bounds[w] for w in elsewhere))
        busy = [w for w in workers if relays.get(w, source) != source]
        if busy:
            raise errors.RELAY_WORKERS_BUSY(workers=", ".join(busy),
                                            sources=", ".join(relays[w] for w in busy))
        if not await state.add_relay_workers(source, workers):
            raise errors.RELAY_WORKERS_WRONG_BOUND(workers=", ".join(workers),
                                                   sources="(bound meanwhile)")
        if await state.relay_stage(source) is None:  # a paused relay stays paused
            await state.set_relay_stage(source, "Running")
        return
    wrong = [w for w in workers if relays.get(w, source) != source]
    if wrong:
        raise errors.RELAY_WORKERS_WRONG_RELAY(workers=", ".join(wrong),
                                               sources=", ".join(relays[w] for w in wrong))
    await state.remove_relay_workers(workers)
    if not any(s == source for w, s in relays.items() if w not in workers):
        await state.set_relay_stage(source, None)


async def relaying(state: ClusterState, source: str) -> list[str]:
    """The workers that relay `source` now: its relay workers, or the bound worker."""
    named = sorted(w for w, s in (await state.relay_workers()).items() if s == source)
    if named:
        return named
    doc = await state.source(source)
    bound = [w for w, s in (await state.bounds()).items() if s == source]
    return bound if doc is not None and from_doc(SourceConfig, doc).enable_relay else []


async def purge_relay(state: ClusterState, source: str, filename: str,
                      sub_dir: str) -> dict[str, Any]:
    """Ask every worker relaying `source` to delete its relay files before `filename`."""
    if source not in await state.sources():
        raise errors.MASTER_SOURCE_NOT_FOUND(source=source)
    if await state.relay_stage(source) is None:
        raise errors.RELAY_NOT_STARTED(source=source, op="purge")
    workers = await relaying(state, source)
    if not workers:
        raise errors.SOURCE_NOT_BOUND(source=source)
    registered = await state.workers()
    entries = await asyncio.gather(*(
        _purge_on(worker, registered[worker].address, source, filename, sub_dir)
        for worker in workers if worker in registered))
    return {"result": all(e["result"] for e in entries), "msg": "", "sources": entries}


async def _purge_on(worker: str, address: str, source: str, filename: str,
                    sub_dir: str) -> dict[str, Any]:
    answer = await post_worker(worker, address, "/api/v1/relay/purge",
                               {"filename": filename, "sub_dir": sub_dir})
    return {"result": answer["result"], "msg": answer["msg"], "source": source,
            "worker": worker}
