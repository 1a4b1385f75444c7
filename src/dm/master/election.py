"""Leader election over etcd (DM's `/dm-master/leader`): a key held under a kept lease.

Every master campaigns; the one that creates the key leads until its lease ends.
The others watch (poll) and take over when the key disappears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from dm import errors, metrics
from dm.fence import Fence
from dm.store import keys
from dm.store.client import Store, host_port

log = logging.getLogger(__name__)
LEADER_KEY = keys.LEADER + "current"


class Election:
    def __init__(self, store: Store, name: str, address: str, ttl: int = 10) -> None:
        self.store = store
        self.name = name
        self.address = address
        self.ttl = ttl
        self._leading = False
        self._lease = Fence(f"dm-master {name}")  # open while the leader key surely holds
        self.evicted = False  # operate-leader evict: resign and do not campaign

    @property
    def is_leader(self) -> bool:
        return self._leading and self._lease.is_open()

    async def leader(self) -> dict[str, Any] | None:
        value = await self.store.get(LEADER_KEY)
        return None if value is None else dict(value)

    async def members(self) -> list[dict[str, Any]]:
        """Every etcd member, `alive` when its client URL answers (DM's list-member)."""
        return [{"name": m.name, "memberID": str(m.id),
                 "alive": bool(m.client_urls) and await _answers(m.client_urls[0]),
                 "peerURLs": list(m.peer_urls), "clientURLs": list(m.client_urls)}
                for m in await self.store.members()]

    async def campaign(self, lead: Callable[[], Coroutine[object, object, None]]) -> None:
        """Run `lead()` for as long as this master holds leadership; retry forever, through
        etcd failures too."""
        while True:
            if not self.evicted:
                try:
                    await self._lead_while_elected(lead)
                except errors.DMError as exc:
                    log.warning("%s: campaign failed (%s); trying again", self.name, exc)
            await asyncio.sleep(1)

    async def _lead_while_elected(self, lead: Callable[[], Coroutine[object, object, None]]
                                  ) -> None:
        me = {"name": self.name, "address": self.address}
        async with self.store.kept_lease(self.ttl, self._lease.renewed) as lease:
            if await self.store.create_if_absent(LEADER_KEY, me, lease):
                log.info("%s became the leader", self.name)
                metrics.START_LEADER.inc()
                self._leading = True
                task = asyncio.create_task(lead())
                try:
                    while self.is_leader and await self.leader() == me and not task.done() \
                            and not self.evicted:
                        await asyncio.sleep(1)
                finally:
                    self._leading = False
                    self._lease.close()
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                log.warning("%s lost leadership", self.name)


async def _answers(url: str) -> bool:
    host, _, port = host_port(url).rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 1)
    except (OSError, TimeoutError, ValueError):
        return False
    writer.close()
    return True
