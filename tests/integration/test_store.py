"""The etcd layer against a real etcd: DM's key layout, CAS, leases kept alive and lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator

import pytest

from dm.master.election import LEADER_KEY, Election
from dm.sandbox import Etcd
from dm.store import keys
from dm.store.client import Store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    server = Etcd(tmp_path_factory.mktemp("etcd")).start()
    try:
        yield server
    finally:
        server.stop()


def test_keys_are_dm_shaped() -> None:
    key = keys.key(keys.SUBTASK_STAGE, "mysql-replica-01", "test")
    assert key == "/dm-master/stage/subtask/" + b"mysql-replica-01".hex() + "/" + \
        b"test".hex()
    assert keys.decode(key.removeprefix(keys.SUBTASK_STAGE)) == ["mysql-replica-01", "test"]


async def test_kv_prefix_and_create_if_absent(etcd: Etcd) -> None:
    store = Store([etcd.endpoint])
    await store.connect()
    try:
        await store.put_many({keys.key(keys.SOURCE_CONFIG, "s/1"): {"a": 1},
                              keys.key(keys.SOURCE_CONFIG, "s2"): {"b": 2}})
        assert await store.get_prefix(keys.SOURCE_CONFIG) == {"s/1": {"a": 1}, "s2": {"b": 2}}
        assert await store.create_if_absent("/x", 1) is True
        assert await store.create_if_absent("/x", 2) is False
        assert await store.get("/x") == 1
        await store.delete("/x", keys.key(keys.SOURCE_CONFIG, "s2"))
        assert await store.get("/x") is None
        assert list(await store.get_prefix(keys.SOURCE_CONFIG)) == ["s/1"]
    finally:
        await store.close()


async def test_the_revision_stays_until_something_changes(etcd: Etcd) -> None:
    """What lets the worker's and the master's passes skip their reads: a key read with
    the store's revision, which stays while nothing changes and grows at every change,
    a lease ending included."""
    store = Store([etcd.endpoint])
    await store.connect()
    try:
        assert await store.get_with_revision("/rev/k") == (None, await store.revision())
        await store.put("/rev/k", {"v": 1})
        value, at = await store.get_with_revision("/rev/k")
        assert value == {"v": 1}
        assert await store.get_with_revision("/rev/k") == ({"v": 1}, at)
        await store.put("/rev/k2", 2)  # a key with the first one's name as its prefix
        assert await store.get_with_revision("/rev/k") == ({"v": 1}, at + 1)
        async with store.kept_lease(1) as lease:
            await store.put("/rev/leased", True, lease=lease)
        assert await store.revision() == at + 3  # its put, and its end
    finally:
        await store.close()


async def test_lease_is_kept_alive_then_lost(etcd: Etcd) -> None:
    store = Store([etcd.endpoint])
    await store.connect()
    try:
        async with store.kept_lease(2) as lease:
            await store.put("/alive", True, lease=lease)
            await asyncio.sleep(4)  # twice the TTL: only the keep-alive keeps it
            assert await store.get("/alive") is True
        assert await store.get("/alive") is None  # revoked on exit
    finally:
        await store.close()


async def test_one_leader_at_a_time(etcd: Etcd) -> None:
    store = Store([etcd.endpoint])
    await store.connect()
    led: list[str] = []

    def lead_as(name: str) -> Callable[[], Coroutine[object, object, None]]:
        async def lead() -> None:
            led.append(name)
            await asyncio.sleep(3600)
        return lead

    first, second = Election(store, "m1", "a:1", ttl=2), Election(store, "m2", "b:2", ttl=2)
    tasks = [asyncio.create_task(first.campaign(lead_as("m1"))),
             asyncio.create_task(second.campaign(lead_as("m2")))]
    try:
        await asyncio.sleep(1.5)
        assert led == ["m1"] or led == ["m2"]
        assert (await first.leader() or {}).get("name") == led[0]
        assert first.is_leader != second.is_leader
        await store.delete(LEADER_KEY)  # the leader loses its key: the other one takes over
        await asyncio.sleep(3)
        assert len(led) >= 2 and (await first.leader() or {}).get("name") is not None
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()
