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

from dm.store import keys
from dm.store.client import Store

log = logging.getLogger(__name__)
LEADER_KEY = keys.LEADER + "current"


class Election:
    def __init__(self, store: Store, name: str, address: str, ttl: int = 10) -> None:
        self.store = store
        self.name = name
        self.address = address
        self.ttl = ttl
        self.is_leader = False

    async def leader(self) -> dict[str, Any] | None:
        value = await self.store.get(LEADER_KEY)
        return None if value is None else dict(value)

    async def members(self) -> list[dict[str, Any]]:
        return [{"name": m.name, "memberID": str(m.id), "alive": True,
                 "peerURLs": list(m.peer_urls), "clientURLs": list(m.client_urls)}
                for m in await self.store.members()]

    async def campaign(self, lead: Callable[[], Coroutine[object, object, None]]) -> None:
        """Run `lead()` for as long as this master holds leadership; retry forever."""
        me = {"name": self.name, "address": self.address}
        while True:
            async with self.store.kept_lease(self.ttl) as lease:
                if await self.store.create_if_absent(LEADER_KEY, me, lease):
                    log.info("%s became the leader", self.name)
                    self.is_leader = True
                    task = asyncio.create_task(lead())
                    try:
                        while await self.leader() == me and not task.done():
                            await asyncio.sleep(1)
                    finally:
                        self.is_leader = False
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await task
                    log.warning("%s lost leadership", self.name)
            await asyncio.sleep(1)
