"""Async etcd access for master and worker: kv, prefix reads, leases kept alive, CAS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aetcd
import aetcd.exceptions
import aetcd.rpc
import grpc
import grpc.aio
from aetcd.members import Member

from dm import clustertls, errors
from dm.store import keys

log = logging.getLogger(__name__)


_FAILOVER_ERRORS = (aetcd.exceptions.ConnectionFailedError,
                    aetcd.exceptions.ConnectionTimeoutError)
_REFRESH_RETRY_S = 0.2
T = TypeVar("T")
Renewal = Callable[[float, float], None]


class Store:
    """A thin typed layer over aetcd; values are JSON documents.

    One gRPC channel dials every member's client URL (learned from the cluster at
    connect): when the member in use dies, the next call goes to another one, and a
    call that failed on the way is tried again until `failover_s` has passed, so a
    member dying never fails the master or worker that was talking to it.
    """

    def __init__(self, endpoints: list[str], failover_s: float = 20.0) -> None:
        self.endpoints = [host_port(e) for e in endpoints]
        self.failover_s = failover_s
        self._client: aetcd.Client | None = None

    async def connect(self, timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            client = _dial(self.endpoints)
            try:
                members = [m async for m in client.members()]
            except Exception as exc:
                await client.close()
                if asyncio.get_running_loop().time() > deadline:
                    raise errors.MASTER_ETCD(exc, op=f"connect {','.join(self.endpoints)}"
                                             ) from exc
                await asyncio.sleep(0.2)
                continue
            learned = list(dict.fromkeys(host_port(url) for m in members
                                         for url in m.client_urls))
            if learned and set(learned) != set(self.endpoints):
                self.endpoints = learned  # dialled once more, with every member
                await client.close()
                continue
            self._client = client
            return

    async def _call(self, what: str, op: Callable[[aetcd.Client], Awaitable[T]]) -> T:
        """op(client), tried again on another member while a failover may be under way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.failover_s
        while True:
            try:
                return await op(self.client)
            except _FAILOVER_ERRORS as exc:
                if loop.time() > deadline:
                    raise errors.MASTER_ETCD(exc, op=what) from exc
                log.info("etcd %s failed (%s); trying another member", what, exc)
                await asyncio.sleep(0.2)

    @property
    def client(self) -> aetcd.Client:
        assert self._client is not None, "Store.connect() first"
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def get(self, key: str) -> Any | None:
        kv = await self._call(f"get {key}", lambda c: c.get(key.encode()))
        return None if kv is None else json.loads(kv.value)

    async def get_with_revision(self, key: str) -> tuple[Any | None, int]:
        """A key's value (None: absent) and the store's revision when it was read: while
        the revision stays, nothing in the store has changed."""
        raw = key.encode()
        found = await self._call(f"get {key}", lambda c: c.get_range(raw, raw + b"\0"))
        value = None if not found else json.loads(found[0].value)
        return value, int(found.header.revision)

    async def revision(self) -> int:
        """The store's revision now: it grows with every change."""
        return (await self.get_with_revision("\0"))[1]  # a key no one writes

    async def get_prefix(self, prefix: str) -> dict[str, Any]:
        """All values under prefix, keyed by the decoded key parts joined with '/'."""
        out: dict[str, Any] = {}
        for kv in await self._call(f"get {prefix}*", lambda c: c.get_prefix(prefix.encode())):
            suffix = kv.key.decode()[len(prefix):]
            out["/".join(keys.decode(suffix))] = json.loads(kv.value)
        return out

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        """The raw keys under prefix (to delete them)."""
        found = await self._call(f"get {prefix}*", lambda c: c.get_prefix(prefix.encode()))
        return [kv.key.decode() for kv in found]

    async def put(self, key: str, value: Any, lease: aetcd.Lease | None = None) -> None:
        data = json.dumps(value).encode()
        await self._call(f"put {key}", lambda c: c.put(key.encode(), data, lease=lease))

    async def put_many(self, items: dict[str, Any]) -> None:
        tx = self.client.transactions
        ops = [tx.put(k.encode(), json.dumps(v).encode()) for k, v in items.items()]
        await self._call(f"put {len(ops)} keys",
                         lambda c: c.transaction(compare=[], success=ops, failure=[]))

    async def delete(self, *keys_: str) -> None:
        tx = self.client.transactions
        ops = [tx.delete(k.encode()) for k in keys_]
        await self._call(f"delete {', '.join(keys_)}",
                         lambda c: c.transaction(compare=[], success=ops, failure=[]))

    async def create_if_absent(self, key: str, value: Any, lease: aetcd.Lease | None = None
                               ) -> bool:
        tx = self.client.transactions
        compare = [tx.version(key.encode()) == 0]
        success = [tx.put(key.encode(), json.dumps(value).encode(), lease=lease)]
        ok, _ = await self._call(f"create {key}", lambda c: c.transaction(
            compare=compare, success=success, failure=[]))
        return bool(ok)

    async def write_if(self, *, absent: tuple[str, ...] = (), present: tuple[str, ...] = (),
                       put: dict[str, Any] | None = None, delete: tuple[str, ...] = ()
                       ) -> bool:
        """Puts and deletes in one transaction, done only if every key of `absent` is
        missing and every key of `present` exists at that moment; whether they were."""
        tx = self.client.transactions
        compare = [tx.version(k.encode()) == 0 for k in absent] + \
            [tx.version(k.encode()) > 0 for k in present]
        ops = [tx.put(k.encode(), json.dumps(v).encode()) for k, v in (put or {}).items()] + \
            [tx.delete(k.encode()) for k in delete]
        ok, _ = await self._call("conditional write", lambda c: c.transaction(
            compare=compare, success=ops, failure=[]))
        return bool(ok)

    async def swap(self, key: str, expected: Any | None, put: dict[str, Any],
                   delete: tuple[str, ...] = ()) -> bool:
        """Puts and deletes in one transaction, done only if `key` holds `expected` (None:
        is absent) at that moment; whether it did."""
        tx = self.client.transactions
        compare = [tx.version(key.encode()) == 0] if expected is None else \
            [tx.value(key.encode()) == json.dumps(expected).encode()]
        ops = [tx.put(k.encode(), json.dumps(v).encode()) for k, v in put.items()] + \
            [tx.delete(k.encode()) for k in delete]
        ok, _ = await self._call(f"swap {key}", lambda c: c.transaction(
            compare=compare, success=ops, failure=[]))
        return bool(ok)

    async def members(self) -> list[Member]:
        async def listed(c: aetcd.Client) -> list[Member]:
            return [m async for m in c.members()]
        return await self._call("list members", listed)

    async def client_endpoints(self) -> list[str]:
        """host:port of every member's client URL, as the cluster knows them now."""
        return [host_port(url) for m in await self.members() for url in m.client_urls]

    async def add_member(self, peer_urls: list[str]) -> None:
        await self._call(f"add member {peer_urls}", lambda c: c.add_member(peer_urls))

    async def remove_member(self, member_id: int) -> None:
        await self._call(f"remove member {member_id:x}", lambda c: c.remove_member(member_id))

    @contextlib.asynccontextmanager
    async def kept_lease(self, ttl: int, on_renewal: Renewal | None = None
                         ) -> AsyncIterator[aetcd.Lease]:
        """A lease refreshed every ttl/3 until the block exits; revoked on exit.

        `on_renewal(sent_at, ttl)` hears of every grant and refresh etcd acknowledged,
        with the time.monotonic() at which it was sent (dm.fence)."""
        sent_at = time.monotonic()
        lease = await self._call("grant a lease", lambda c: c.lease(ttl))
        if on_renewal is not None:
            on_renewal(sent_at, ttl)
        task = asyncio.create_task(self._keep_alive(lease, ttl, on_renewal))
        try:
            yield lease
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):
                await lease.revoke()

    @staticmethod
    async def _keep_alive(lease: aetcd.Lease, ttl: int, on_renewal: Renewal | None) -> None:
        """Refresh every ttl/3; a refresh that failed (its member died, say) is tried again
        after 0.2 s on another member, so one failure never costs a third of the lease,
        and less often (up to ttl/3) while they go on failing."""
        regular = wait = max(ttl / 3, 0.5)
        failures = 0
        while True:
            await asyncio.sleep(wait)
            sent_at = time.monotonic()
            try:
                reply = await lease.refresh()
            except Exception as exc:  # noqa: BLE001 - logged; retried soon
                log.warning("lease refresh failed: %s", exc)
                failures += 1
                wait = min(_REFRESH_RETRY_S * 2 ** (failures - 1), regular)
                continue
            failures, wait = 0, regular
            if reply is None or reply.TTL <= 0:
                log.warning("lease %x has expired in etcd", lease.id)
                return
            if on_renewal is not None:
                on_renewal(sent_at, ttl)


def host_port(url: str) -> str:
    """host:port of a client URL (`http://127.0.0.1:2379` or `127.0.0.1:2379`)."""
    return url.split("://", 1)[-1].rstrip("/")


def _dial(endpoints: list[str]) -> aetcd.Client:
    """A client whose one gRPC channel knows every endpoint (gRPC's `ipv4:` target with
    several addresses, first reachable one used), so a dead member is passed over; over
    TLS when the cluster's is on (dm.clustertls)."""
    addresses = []
    for endpoint in endpoints:
        host, _, port = host_port(endpoint).rpartition(":")
        addresses.append(f"{socket.gethostbyname(host or '127.0.0.1')}:{port}")
    # aetcd joins host and port with ':'; the multi-address target splits the same way
    target_host, _, target_port = ("ipv4:" + ",".join(addresses)).rpartition(":")
    tls = clustertls.current()
    if not tls.enabled:
        return aetcd.Client(host=target_host, port=int(target_port), timeout=10)
    first = host_port(endpoints[0]).rpartition(":")[0] or "127.0.0.1"
    return _TLSClient(tls, first, host=target_host, port=int(target_port), timeout=10)


class _TLSClient(aetcd.Client):  # type: ignore[misc]  # aetcd is untyped
    """aetcd opens plain gRPC channels only: this client has its `connect` open a TLS one
    instead. The server's certificate is checked for the first endpoint's host (a
    cluster's certificate names every master's host, as DM's do)."""

    def __init__(self, tls: clustertls.ClusterTLS, server_name: str, **kw: Any) -> None:
        super().__init__(**kw)
        self._credentials = grpc.ssl_channel_credentials(
            Path(tls.ca).read_bytes(), Path(tls.key).read_bytes(),
            Path(tls.cert).read_bytes())
        self._server_name = server_name

    async def connect(self) -> None:
        plain = aetcd.rpc.insecure_channel

        def secure(target: str, options: Any = ()) -> grpc.aio.Channel:
            return grpc.aio.secure_channel(target, self._credentials, options=[
                *options, ("grpc.ssl_target_name_override", self._server_name)])
        aetcd.rpc.insecure_channel = secure  # for the call below only (no await before
        try:  # it takes the channel)
            await super().connect()
        finally:
            aetcd.rpc.insecure_channel = plain
