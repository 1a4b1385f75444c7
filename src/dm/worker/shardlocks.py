"""The shard DDL locks (dm.master.ddllocks) as the sync unit's thread calls them: each
call runs on the worker's event loop, which holds the etcd client."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from dm.master.ddllocks import PessimisticLocks
from dm.master.state import ClusterState
from dm.sync.shardgroups import Held, Resolved, Table

T = TypeVar("T")
_ETCD_WAIT_S = 30.0  # a call waits out an etcd failover (the store retries for 20 s)


class ClusterLocks:
    def __init__(self, state: ClusterState, task: str, source: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._locks = PessimisticLocks(state, task, source)
        self._loop = loop

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result(_ETCD_WAIT_S)

    def declare(self, targets: list[str]) -> None:
        self._run(self._locks.declare(targets))

    def resolved(self) -> list[Resolved]:
        return self._run(self._locks.resolved())

    def attend(self, lock: str, held: dict[Table, Held]) -> str | Resolved:
        return self._run(self._locks.attend(lock, held))

    def settled(self, lock: str, held: dict[Table, Held]) -> str | Resolved | None:
        return self._run(self._locks.settled(lock, held))

    def executed(self, lock: str, held: dict[Table, Held]) -> Resolved:
        return self._run(self._locks.executed(lock, held))

    def forget(self, done: list[Resolved]) -> None:
        self._run(self._locks.forget(done))
