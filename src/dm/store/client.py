"""Async etcd access for master and worker: kv, prefix reads, leases kept alive, CAS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aetcd

from dm import errors
from dm.store import keys

log = logging.getLogger(__name__)


class Store:
    """A thin typed layer over aetcd; values are JSON documents."""

    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = endpoints
        self._client: aetcd.Client | None = None

    async def connect(self, timeout: float = 30) -> None:
        host, _, port = self.endpoints[0].rpartition(":")
        host = host.removeprefix("http://") or "127.0.0.1"
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            client = aetcd.Client(host=host, port=int(port), timeout=10)
            try:
                await client.get(b"/dm-cluster/version")
            except Exception as exc:
                await client.close()
                if asyncio.get_running_loop().time() > deadline:
                    raise errors.MASTER_ETCD(exc, op=f"connect {self.endpoints[0]}") from exc
                await asyncio.sleep(0.2)
                continue
            self._client = client
            return

    @property
    def client(self) -> aetcd.Client:
        assert self._client is not None, "Store.connect() first"
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def get(self, key: str) -> Any | None:
        kv = await self.client.get(key.encode())
        return None if kv is None else json.loads(kv.value)

    async def get_prefix(self, prefix: str) -> dict[str, Any]:
        """All values under prefix, keyed by the decoded key parts joined with '/'."""
        out: dict[str, Any] = {}
        for kv in await self.client.get_prefix(prefix.encode()):
            suffix = kv.key.decode()[len(prefix):]
            out["/".join(keys.decode(suffix))] = json.loads(kv.value)
        return out

    async def put(self, key: str, value: Any, lease: aetcd.Lease | None = None) -> None:
        await self.client.put(key.encode(), json.dumps(value).encode(), lease=lease)

    async def put_many(self, items: dict[str, Any]) -> None:
        tx = self.client.transactions
        ops = [tx.put(k.encode(), json.dumps(v).encode()) for k, v in items.items()]
        await self.client.transaction(compare=[], success=ops, failure=[])

    async def delete(self, *keys_: str) -> None:
        tx = self.client.transactions
        ops = [tx.delete(k.encode()) for k in keys_]
        await self.client.transaction(compare=[], success=ops, failure=[])

    async def create_if_absent(self, key: str, value: Any, lease: aetcd.Lease | None = None
                               ) -> bool:
        tx = self.client.transactions
        ok, _ = await self.client.transaction(
            compare=[tx.version(key.encode()) == 0],
            success=[tx.put(key.encode(), json.dumps(value).encode(), lease=lease)],
            failure=[],
        )
        return bool(ok)

    @contextlib.asynccontextmanager
    async def kept_lease(self, ttl: int) -> AsyncIterator[aetcd.Lease]:
        """A lease refreshed every ttl/3 until the block exits; revoked on exit."""
        lease = await self.client.lease(ttl)
        task = asyncio.create_task(self._keep_alive(lease, ttl))
        try:
            yield lease
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):
                await lease.revoke()

    @staticmethod
    async def _keep_alive(lease: aetcd.Lease, ttl: int) -> None:
        while True:
            await asyncio.sleep(max(ttl / 3, 0.5))
            try:
                await lease.refresh()
            except Exception as exc:  # noqa: BLE001 - logged; the next refresh retries
                log.warning("lease refresh failed: %s", exc)
