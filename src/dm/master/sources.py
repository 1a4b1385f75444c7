"""operate-source create|stop|show on the leader."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pymysql

from dm import errors
from dm.config.source import SourceConfig, parse_source_config
from dm.config.stored import endpoint, from_doc, to_doc
from dm.db import connect, is_mariadb, query_all, query_one
from dm.master.state import ClusterState
from dm.master.tasks import with_warnings

# DM picks a replica server-id in [MaxUint32/10, +100000) unused upstream.
_SERVER_ID_BASE = 0xFFFFFFFF // 10


def _adjust_from_upstream(cfg: SourceConfig, file: str) -> SourceConfig:
    """Probe the upstream (reachability, flavor, server-id, case sensitivity) as DM does."""
    conn = connect(endpoint(cfg.from_), what=f"source {cfg.source_id}", file=file)
    try:
        updates: dict[str, Any] = {}
        if not cfg.flavor:
            updates["flavor"] = "mariadb" if is_mariadb(conn) else "mysql"
        if not cfg.server_id:
            try:
                used = {int(r[0]) for r in query_all(conn, "SHOW SLAVE HOSTS")}
            except pymysql.err.MySQLError:  # needs REPLICATION MASTER ADMIN; ids rarely clash
                used = set()
            candidates = [i for i in (random.randrange(_SERVER_ID_BASE, _SERVER_ID_BASE + 100000)
                                      for _ in range(5)) if i not in used]
            updates["server_id"] = candidates[0] if candidates else _SERVER_ID_BASE
        lower = query_one(conn, "SELECT @@lower_case_table_names")
        if lower is not None and not cfg.case_sensitive:
            updates["case_sensitive"] = int(lower[0]) == 0
    finally:
        conn.close()
    return cfg.model_copy(update=updates)


async def create_sources(state: ClusterState, files: list[dict[str, str]]) -> dict[str, Any]:
    parsed = [(f["name"], parse_source_config(f["text"], f["name"])) for f in files]
    existing = await state.sources()
    seen: set[str] = set()
    for _, cfg in parsed:
        if cfg.source_id in existing or cfg.source_id in seen:
            raise errors.MASTER_SOURCE_EXISTS(source=cfg.source_id)
        seen.add(cfg.source_id)
    adjusted = await asyncio.gather(*(asyncio.to_thread(_adjust_from_upstream, cfg, name)
                                      for name, cfg in parsed))
    for cfg in adjusted:
        await state.put_source(cfg.source_id, to_doc(cfg))
        if cfg.enable_relay:  # as DM 5.3+: the bound worker relays it from the start
            await state.set_relay_stage(cfg.source_id, "Running")
    return {"result": True, "msg": "",
            "sources": [{"result": True, "msg": with_warnings("", cfg.warnings),
                         "source": c.source_id, "worker": ""}
                        for (_, cfg), c in zip(parsed, adjusted, strict=True)]}


async def stop_sources(state: ClusterState, source_ids: list[str]) -> dict[str, Any]:
    existing = await state.sources()
    subtasks = await state.subtasks()
    bounds = await state.bounds()
    for sid in source_ids:
        if sid not in existing:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=sid)
        tasks = sorted(t for s, t in subtasks if s == sid)
        if tasks:
            raise errors.SOURCE_HAS_TASKS(source=sid, tasks=", ".join(tasks))
        relaying = sorted(w for w, s in (await state.relay_workers()).items() if s == sid)
        if relaying:
            raise errors.SOURCE_HAS_RELAY_WORKERS(source=sid, workers=" ".join(relaying))
    out = []
    for sid in source_ids:
        worker = next((w for w, s in bounds.items() if s == sid), None)
        await state.delete_source(sid, worker)
        out.append({"result": True, "msg": "", "source": sid, "worker": worker or ""})
    return {"result": True, "msg": "", "sources": out}


async def show_sources(state: ClusterState, source_ids: list[str]) -> dict[str, Any]:
    existing = await state.sources()
    bounds = {s: w for w, s in (await state.bounds()).items()}
    wanted = source_ids or sorted(existing)
    out = []
    for sid in wanted:
        if sid not in existing:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=sid)
        cfg = from_doc(SourceConfig, existing[sid])
        out.append({"result": True, "msg": cfg.to_yaml(secrets="mask"), "source": sid,
                    "worker": bounds.get(sid, "")})
    return {"result": True, "msg": "", "sources": out}
