"""binlog skip|replace|revert|list (DM 2.0's handle-error) on the leader.

Without `-b` an operator acts on the DDL that paused the subtask (its worker says where it
starts); with `-b <file:pos>` on the DDL event starting there, now or later. skip and
replace resume the subtask at once, as DM's do. The operators live in etcd
(`/dm-master/binlog-operator/<task>/<source>`, where DM keeps them in the worker's
memory), so a worker that restarts or takes the source over applies them too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dm import errors
from dm.master.state import ClusterState
from dm.master.tasks import task_sources, worker_get
from dm.schema import ddl
from dm.sync.operators import REPLACE, Operator, parse_binlog_pos

OPS = ("skip", "replace", "revert", "list")


async def operate_binlog(state: ClusterState, op: str, task: str, sources: list[str],
                         binlog_pos: str, sqls: list[str]) -> dict[str, Any]:
    sources = await task_sources(state, task, sources)  # none named: all of the task's
    _check_args(op, binlog_pos, sqls)
    bound = {s: w for w, s in (await state.bounds()).items()}
    workers = await state.workers()

    async def on(source: str) -> dict[str, Any]:
        worker = bound.get(source, "")
        entry = {"result": True, "msg": "", "source": source, "worker": worker}
        try:
            if op == "list":  # -b: only the operator at that position
                docs = await state.binlog_operators(task, source)
                at = Operator.from_json({"op": "", "binlog_pos": binlog_pos}).at \
                    if binlog_pos else ""
                entry["msg"] = json.dumps([d for d in docs if not at or d["binlog_pos"] == at])
                return entry
            at = binlog_pos
            if not at:
                if worker not in workers:
                    raise errors.SOURCE_NOT_BOUND(source=source)
                answer = await worker_get(worker, workers[worker].address,
                                          f"/api/v1/binlog-error?task={task}")
                if not answer["result"]:
                    return {**entry, "result": False, "msg": answer["msg"]}
                at = str(answer["binlog_pos"])
            await _set(state, task, source, op, at, sqls)
        except errors.DMError as exc:
            return {**entry, "result": False, "msg": str(exc)}
        return entry

    entries = await asyncio.gather(*(on(s) for s in sources))
    done = [e["source"] for e in entries if e["result"]]
    if op in ("skip", REPLACE) and done:
        await state.set_stages(task, done, "Running")  # as DM: the subtask goes on
    return {"result": all(e["result"] for e in entries), "msg": "", "sources": entries}


def _check_args(op: str, binlog_pos: str, sqls: list[str]) -> None:
    if binlog_pos:
        parse_binlog_pos(binlog_pos)
    if op == REPLACE and not sqls:
        raise errors.BINLOG_OP_ARGS(detail="replace needs the statements to run instead")
    if op != REPLACE and sqls:
        raise errors.BINLOG_OP_ARGS(detail=f"{op} takes no statements")
    for sql in sqls:
        try:
            parsed = ddl.parse(sql, "")
        except errors.DMError as exc:
            raise errors.BINLOG_OP_ARGS(detail=f"cannot parse {sql!r}: {exc.message}") from exc
        if parsed.kind is not ddl.Kind.DDL:
            raise errors.BINLOG_OP_ARGS(detail=f"{sql!r} is not a DDL: only DDLs replace one")


async def _set(state: ClusterState, task: str, source: str, op: str, at: str,
               sqls: list[str]) -> None:
    file, pos = parse_binlog_pos(at)
    operator = Operator(op, file, pos, tuple(sqls))
    if op != "revert":
        await state.put_binlog_operator(task, source, operator.at, operator.to_json())
        return
    held = {Operator.from_json(d).at for d in await state.binlog_operators(task, source)}
    if operator.at not in held:
        raise errors.BINLOG_OP_ARGS(detail=f"error operator not exist, position: {at}")
    await state.delete_binlog_operators(task, source, [operator.at])
