"""list-member and offline-member: the masters (etcd members), the workers, the leader."""

from __future__ import annotations

from typing import Any

from dm import errors
from dm.master.election import LEADER_KEY, Election
from dm.master.state import ClusterState
from dm.store import keys


async def list_member(state: ClusterState, election: Election, leader: bool, master: bool,
                      worker: bool, names: set[str]) -> dict[str, Any]:
    want_all = not (leader or master or worker)
    members: list[dict[str, Any]] = []
    if want_all or leader:
        current = await election.leader()
        members.append({"leader": {"msg": "", "name": current["name"] if current else "",
                                   "addr": current["address"] if current else ""}})
    if want_all or master:
        masters = [m for m in await election.members() if not names or m["name"] in names]
        members.append({"master": {"msg": "", "masters": masters}})
    if want_all or worker:
        workers = [w for w in await worker_stages(state) if not names or w["name"] in names]
        members.append({"worker": {"msg": "", "workers": workers}})
    return {"result": True, "msg": "", "members": members}


async def worker_stages(state: ClusterState) -> list[dict[str, str]]:
    """Each worker's stage as DM shows it: offline, bound, relay (relaying a source it is
    not bound to) or free."""
    workers = await state.workers()
    alive = await state.alive_workers()
    bounds = await state.bounds()
    relays = await state.relay_workers()

    def stage(name: str) -> str:
        if name not in alive:
            return "offline"
        return "bound" if name in bounds else "relay" if name in relays else "free"

    return [{"name": w.name, "addr": w.address, "stage": stage(name),
             "source": bounds.get(name) or relays.get(name, "")}
            for name, w in sorted(workers.items())]


async def offline_member(state: ClusterState, kind: str, name: str) -> dict[str, Any]:
    """An offline worker's registration, or a master's etcd member, removed (DM's
    offline-member). A removed master's member leaves the cluster and its dm-master ends."""
    if kind == "worker":
        if name not in await state.workers():
            raise errors.WORKER_NOT_FOUND(name=name)
        alive = keys.key(keys.WORKER_KEEPALIVE, name)
        if not await state.store.write_if(absent=(alive,), delete=tuple(
                keys.key(prefix, name) for prefix in (keys.WORKER_REGISTER, keys.BOUND_WORKER,
                                                      keys.LAST_BOUND_WORKER,
                                                      keys.RELAY_WORKER, keys.WORKER_CONFIG))):
            raise errors.WORKER_ONLINE(name=name)
        return {"result": True, "msg": ""}
    if kind != "master":
        raise errors.MASTER_BAD_REQUEST(detail=f"offline member type {kind!r} is invalid")
    member = next((m for m in await state.store.members() if m.name == name), None)
    if member is None:
        raise errors.MASTER_NAME_NOT_FOUND(name=name)
    current = await state.store.get(LEADER_KEY)
    if isinstance(current, dict) and current.get("name") == name:
        await state.store.delete(LEADER_KEY)  # its leadership goes with it
    await state.store.delete(keys.key(keys.MASTER_CONFIG, name))
    await state.store.remove_member(member.id)
    return {"result": True, "msg": ""}
