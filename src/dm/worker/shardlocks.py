"""The shard DDL locks (dm.master.ddllocks, optlocks) as the sync unit's thread calls
them: each call runs on the worker's event loop, which holds the etcd client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from dm import errors
from dm.master.ddllocks import PessimisticLocks
from dm.master.optlocks import OptimisticLocks
from dm.master.state import ClusterState
from dm.schema.table import TableInfo
from dm.sync.optimism import HeldChange, Shard
from dm.sync.shardgroups import Held, Resolved, Table

T = TypeVar("T")
_ETCD_WAIT_S = 30.0  # a call waits out an etcd failover (the store retries for 20 s)


class _OnLoop:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            return future.result(_ETCD_WAIT_S)
        except TimeoutError as exc:  # a coded, retryable error: the task resumes itself
            future.cancel()
            raise errors.MASTER_ETCD(exc, op="a shard DDL lock (no answer in "
                                             f"{_ETCD_WAIT_S:.0f} s)") from exc


class ClusterLocks(_OnLoop):
    """The pessimistic locks (dm.master.ddllocks)."""

    def __init__(self, state: ClusterState, task: str, source: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._locks = PessimisticLocks(state, task, source)

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


class ClusterOptimism(_OnLoop):
    """The optimistic locks (dm.master.optlocks)."""

    def __init__(self, state: ClusterState, task: str, source: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._locks = OptimisticLocks(state, task, source)

    def register(self, shards: dict[Table, tuple[str, TableInfo]],
                 takes: Callable[[Table], bool]) -> None:
        self._run(self._locks.register(shards, takes))

    def others(self, lock: str, me: Table) -> tuple[Any, list[Shard], frozenset[str]]:
        return self._run(self._locks.others(lock, me))

    def version(self, lock: str) -> Any:
        return self._run(self._locks.version(lock))

    def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
               pending: dict[str, Any] | None, dropped: frozenset[str],
               gone: frozenset[str] = frozenset(), hold: HeldChange | None = None) -> bool:
        return self._run(self._locks.commit(lock, version, me, after, pending, dropped,
                                            gone, hold))

    def release(self, lock: str, names: Sequence[str]) -> None:
        self._run(self._locks.release(lock, names))

    def pend(self, lock: str, pending: dict[str, Any]) -> None:
        self._run(self._locks.pend(lock, pending))

    def unlocked(self) -> dict[Table, tuple[str, str, HeldChange]]:
        return self._run(self._locks.unlocked())

    def pending(self) -> dict[str, Any] | None:
        return self._run(self._locks.pending())

    def ran(self) -> None:
        self._run(self._locks.ran())

    def settled_at(self) -> dict[Table, dict[str, tuple[str, ...]]]:
        return self._run(self._locks.settled_at())

    def forget(self, table: Table, at: str) -> None:
        self._run(self._locks.forget(table, at))
