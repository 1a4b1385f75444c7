"""Source ↔ worker binding (DM §10.3), level-triggered: one pass computes the whole plan.

Invariant: a source is bound to at most one worker and a worker serves at most one
source. A worker whose keepalive lease expired loses its source, which is bound
again to a free worker, preferring the worker it was last bound to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from dm.master.state import ClusterState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Binding:
    worker: str
    source: str


def plan_bindings(sources: set[str], alive: set[str], bounds: dict[str, str],
                  last_bounds: dict[str, str]) -> tuple[list[str], list[Binding]]:
    """Return (workers to unbind, new bindings) for one reconcile pass."""
    unbind = sorted(w for w, s in bounds.items() if w not in alive or s not in sources)
    kept = {w: s for w, s in bounds.items() if w not in unbind}
    free = sorted(alive - kept.keys())
    unbound = sorted(sources - set(kept.values()))
    new: list[Binding] = []
    for source in unbound:
        if not free:
            break
        preferred = [w for w in free if last_bounds.get(w) == source]
        choice = (preferred or free)[0]
        free.remove(choice)
        new.append(Binding(choice, source))
    return unbind, new


class Scheduler:
    def __init__(self, state: ClusterState, interval: float = 0.5) -> None:
        self.state = state
        self.interval = interval

    async def reconcile(self) -> None:
        sources = set(await self.state.sources())
        alive = await self.state.alive_workers()
        bounds = await self.state.bounds()
        unbind, new = plan_bindings(sources, alive, bounds, await self.state.last_bounds())
        for worker in unbind:
            if not await self.state.unbind(worker, only_if_offline=worker not in alive):
                return  # it came back meanwhile: the next pass plans again
            log.info("unbound worker %s from source %s", worker, bounds[worker])
        for b in new:
            if await self.state.bind(b.worker, b.source):
                log.info("bound source %s to worker %s", b.source, b.worker)

    async def run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # noqa: BLE001 - etcd hiccup: the next pass retries
                log.warning("scheduler pass failed: %s", exc)
            await asyncio.sleep(self.interval)
