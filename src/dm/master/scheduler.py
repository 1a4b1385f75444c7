"""Source ↔ worker binding (DM §10.3), level-triggered: one pass computes the whole plan.

Invariant: a source is bound to at most one worker and a worker serves at most one
source. A worker whose keepalive lease expired loses its source, which is bound
again to a free worker: the one holding its dump files while a subtask is in dump or
load (DM's load-task rule), else preferring the worker it was last bound to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dm.master.state import ClusterState
from dm.master.tasks import poke_sources

_REPLAN_S = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Binding:
    worker: str
    source: str


def plan_bindings(sources: set[str], alive: set[str], bounds: dict[str, str],
                  last_bounds: dict[str, str], holders: dict[str, str] | None = None,
                  registered: set[str] | None = None, relays: dict[str, str] | None = None
                  ) -> tuple[list[str], list[Binding]]:
    """Return (workers to unbind, new bindings) for one reconcile pass.

    `holders` (source → worker) are DM's load tasks: the worker whose disk holds the
    source's dump files. Such a source goes back to that worker only, and waits for it
    while it is offline; it is free to go elsewhere once that worker is no longer
    registered (offline-member). `relays` (worker → source) are DM's relay workers: one is
    bound to its relay source only, and that source goes to one of them first (the one
    it was bound to before, if free), then to the worker it was last bound to."""
    holders = holders or {}
    relays = relays or {}
    registered = alive if registered is None else registered
    unbind = sorted(w for w, s in bounds.items() if w not in alive or s not in sources)
    kept = {w: s for w, s in bounds.items() if w not in unbind}
    free = sorted(alive - kept.keys())
    unbound = sorted(sources - set(kept.values()))
    reserved = {holders[s] for s in unbound if s in holders}
    new: list[Binding] = []
    for source in unbound:
        holder = holders.get(source)
        if holder is not None and holder in registered:
            if holder in free:  # never some other worker: the files are on this one
                free.remove(holder)
                new.append(Binding(holder, source))
            continue
        candidates = [w for w in free if w not in reserved and relays.get(w, source) == source]
        if not candidates:
            continue
        relaying = [w for w in candidates if relays.get(w) == source]
        before = [w for w in candidates if last_bounds.get(w) == source]
        choice = ([w for w in relaying if w in before] or relaying or before or candidates)[0]
        free.remove(choice)
        new.append(Binding(choice, source))
    return unbind, new


class Scheduler:
    def __init__(self, state: ClusterState, leading: Callable[[], bool],
                 interval: float = 0.5) -> None:
        self.state = state
        self.leading = leading  # a pass runs only while this master surely leads
        self.interval = interval
        self._planned: tuple[int, float] | None = None  # etcd's revision a pass planned
        # on, and when

    async def reconcile(self) -> None:
        """Bind and unbind as etcd says; a pass reads only etcd's revision while it stays
        (a worker dying ends its lease, which changes it), and everything every 5 s."""
        revision = await self.state.store.revision()
        if self._planned is not None and self._planned[0] == revision and \
                time.monotonic() - self._planned[1] < _REPLAN_S:
            return
        planned = (revision, time.monotonic())  # kept once the pass has done its work: a
        # pass that failed half-way runs again at the next interval
        sources = set(await self.state.sources())
        alive = await self.state.alive_workers()
        bounds = await self.state.bounds()
        unbind, new = plan_bindings(sources, alive, bounds, await self.state.last_bounds(),
                                    await self.state.dump_holders(),
                                    set(await self.state.workers()),
                                    await self.state.relay_workers())
        for worker in unbind:
            if not await self.state.unbind(worker, only_if_offline=worker not in alive):
                return  # it came back meanwhile: the next pass plans again
            log.info("unbound worker %s from source %s", worker, bounds[worker])
        for b in new:
            if await self.state.rebind(b.source, None, b.worker):
                log.info("bound source %s to worker %s", b.source, b.worker)
        self._planned = planned
        if new:
            await poke_sources(self.state, [b.source for b in new])

    async def run(self) -> None:
        while True:
            try:
                if self.leading():  # a leader frozen past its lease wakes up as none
                    await self.reconcile()
            except Exception as exc:  # noqa: BLE001 - etcd hiccup: the next pass retries
                log.warning("scheduler pass failed: %s", exc)
            await asyncio.sleep(self.interval)
