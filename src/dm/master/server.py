"""dm-master's HTTP API: one POST endpoint per dmctl command, `/status`, `/metrics`.

Every answer is DM-shaped JSON; a DMError becomes `{"result": false, "msg": ...}`
with HTTP 200 so dmctl prints it as DM's dmctl would. A follower forwards the
request to the leader.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from dm import __version__, clustertls, errors, metrics
from dm.config.source import SourceConfig
from dm.config.stored import from_doc
from dm.master import binlogops, ddllocks, members, relay, schemas, sources, tasks, transfer
from dm.master.election import Election
from dm.master.metrics import MasterCollector
from dm.master.openapi.routes import OpenAPI
from dm.master.state import ClusterState
from dm.store import keys

log = logging.getLogger(__name__)
_LOCAL = {"operate-leader"}  # acts on the master that got it, leader or not
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.MASTER_BAD_REQUEST(detail=f"{key} must be a list of strings")
    return value


def _file(body: dict[str, Any]) -> dict[str, str]:
    f = body.get("file")
    if not isinstance(f, dict) or not isinstance(f.get("text"), str):
        raise errors.MASTER_BAD_REQUEST(detail="file {name, text} is required")
    return {"name": str(f.get("name", "task.yaml")), "text": f["text"]}


class MasterAPI:
    def __init__(self, state: ClusterState, election: Election, name: str,
                 openapi: bool = False) -> None:
        self.state = state
        self.election = election
        self.name = name
        self.openapi = OpenAPI(state, election, name) if openapi else None
        self.collector = MasterCollector()
        REGISTRY.register(self.collector)
        self.commands: dict[str, Handler] = {
            "operate-source": self.operate_source,
            "start-task": self.start_task,
            "check-task": self.check_task,
            "operate-task": self.operate_task,
            "query-status": self.query_status,
            "list-member": self.list_member,
            "offline-member": self.offline_member,
            "operate-leader": self.operate_leader,
            "transfer-source": self.transfer_source,
            "get-config": self.get_config,
            "config-export": self.config_export,
            "operate-relay": self.operate_relay,
            "purge-relay": self.purge_relay,
            "operate-schema": self.operate_schema,
            "binlog": self.operate_binlog,
            "show-ddl-locks": self.show_ddl_locks,
            "unlock-ddl-lock": self.unlock_ddl_lock,
        }

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 << 20,
                              middlewares=[clustertls.current().middleware()])
        app.router.add_post("/dmctl/{command}", self.dispatch)
        app.router.add_get("/status", self.status)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/api/v1/cluster/etcd", self.etcd)
        if self.openapi is not None:
            self.openapi.mount(app)
        return app

    async def status(self, _: web.Request) -> web.Response:
        return web.json_response({"name": self.name, "version": __version__,
                                  "leader": self.election.is_leader})

    async def metrics(self, _: web.Request) -> web.Response:
        try:
            await self.collector.refresh(self.state, self.election.is_leader)
        except (errors.DMError, TimeoutError) as exc:  # the last samples stand
            log.warning("metrics: cannot read the cluster from etcd now: %s", exc)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def etcd(self, _: web.Request) -> web.Response:
        return web.json_response({"endpoints": await self.state.store.client_endpoints()})

    async def dispatch(self, request: web.Request) -> web.Response:
        command = request.match_info["command"]
        handler = self.commands.get(command)
        if handler is None:
            return web.json_response({"result": False, "msg": f"unknown command {command}"},
                                     status=404)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise errors.MASTER_BAD_REQUEST(detail="body must be a JSON object")
            if not self.election.is_leader and command not in _LOCAL:
                return web.json_response(await self._forward(command, body))
            return web.json_response(await handler(body))
        except errors.DMError as exc:
            return web.json_response({"result": False, "msg": str(exc)})
        except ValueError as exc:
            return web.json_response({"result": False, "msg": str(
                errors.MASTER_BAD_REQUEST(exc, detail="body is not valid JSON"))})
        except Exception as exc:
            log.exception("command %s failed", command)
            return web.json_response({"result": False, "msg": str(errors.wrap(exc))})

    async def _forward(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        leader = await self.election.leader()
        if leader is None:
            raise errors.MASTER_NOT_LEADER(name=self.name)
        try:
            async with clustertls.session(600) as http, \
                    http.post(clustertls.url(leader["address"], f"/dmctl/{command}"),
                              json=body) as resp:
                return dict(await resp.json())
        except aiohttp.ClientConnectorError as exc:  # never sent: the leader died, its key
            # lives until its lease ends and another master is elected
            raise errors.MASTER_NOT_LEADER(exc, name=self.name) from exc

    # --- commands -------------------------------------------------------------------
    async def operate_source(self, body: dict[str, Any]) -> dict[str, Any]:
        op = body.get("op")
        if op == "create":
            files = body.get("files") or []
            if not files:
                raise errors.MASTER_BAD_REQUEST(detail="operate-source create needs a file")
            return await sources.create_sources(self.state, files)
        if op == "stop":
            ids = _strings(body, "sources")
            if not ids:
                raise errors.MASTER_BAD_REQUEST(detail="operate-source stop needs source ids")
            return await sources.stop_sources(self.state, ids)
        if op == "show":
            return await sources.show_sources(self.state, _strings(body, "sources"))
        if op == "update":
            raise errors.MASTER_BAD_REQUEST(detail="operate-source update is not supported "
                                                   "(as in DM): stop the source and create it")
        raise errors.MASTER_BAD_REQUEST(detail=f"unknown operate-source op {op!r}")

    async def start_task(self, body: dict[str, Any]) -> dict[str, Any]:
        return await tasks.start_task(self.state, _file(body), bool(body.get("remove_meta")),
                                      _strings(body, "sources"))

    async def check_task(self, body: dict[str, Any]) -> dict[str, Any]:
        return await tasks.check_task(self.state, _file(body), int(body.get("error", 10)),
                                      int(body.get("warn", 10)))

    async def operate_task(self, body: dict[str, Any]) -> dict[str, Any]:
        op, task = body.get("op"), body.get("task")
        if op not in ("stop", "pause", "resume") or not isinstance(task, str):
            raise errors.MASTER_BAD_REQUEST(detail="op must be stop|pause|resume with a task")
        return await tasks.operate_task(self.state, op, task, _strings(body, "sources"))

    async def query_status(self, body: dict[str, Any]) -> dict[str, Any]:
        task = body.get("task")
        return await tasks.query_status(self.state, task if isinstance(task, str) else None,
                                        _strings(body, "sources"), bool(body.get("more")))

    async def list_member(self, body: dict[str, Any]) -> dict[str, Any]:
        return await members.list_member(
            self.state, self.election, bool(body.get("leader")), bool(body.get("master")),
            bool(body.get("worker")), set(_strings(body, "names")))

    async def offline_member(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, name = body.get("kind"), body.get("name")
        if not isinstance(kind, str) or not isinstance(name, str) or not name:
            raise errors.MASTER_BAD_REQUEST(detail="offline-member needs --master or --worker "
                                                   "and -n name")
        return await members.offline_member(self.state, kind, name)

    async def operate_leader(self, body: dict[str, Any]) -> dict[str, Any]:
        """On the master that got it, not forwarded (as DM): evict makes it resign and stop
        campaigning; cancel-evict lets it campaign again."""
        op = body.get("op")
        if op not in ("evict", "cancel-evict"):
            raise errors.MASTER_BAD_REQUEST(detail=f"operate {op!r} is not supported")
        self.election.evicted = op == "evict"
        return {"result": True, "msg": ""}

    async def transfer_source(self, body: dict[str, Any]) -> dict[str, Any]:
        source, worker = body.get("source"), body.get("worker")
        if not isinstance(source, str) or not isinstance(worker, str):
            raise errors.MASTER_BAD_REQUEST(detail="transfer-source needs a source and a worker")
        return await transfer.transfer_source(self.state, source, worker)

    async def operate_relay(self, body: dict[str, Any]) -> dict[str, Any]:
        op = body.get("op")
        if op not in ("start", "stop", "pause", "resume"):
            raise errors.MASTER_BAD_REQUEST(detail="op must be start|stop|pause|resume")
        return await relay.operate_relay(self.state, op, _strings(body, "sources"),
                                         _strings(body, "workers"))

    async def purge_relay(self, body: dict[str, Any]) -> dict[str, Any]:
        source, filename = body.get("source"), body.get("filename")
        if not isinstance(source, str) or not isinstance(filename, str) or not filename:
            raise errors.MASTER_BAD_REQUEST(detail="purge-relay needs -s <source> and "
                                                   "-f <binlog file>")
        return await relay.purge_relay(self.state, source, filename,
                                       str(body.get("sub_dir") or ""))

    async def operate_schema(self, body: dict[str, Any]) -> dict[str, Any]:
        op, task = body.get("op"), body.get("task")
        if op not in schemas.OPS or not isinstance(task, str) or not task:
            raise errors.MASTER_BAD_REQUEST(detail="binlog-schema needs list|update|delete "
                                                   "and a task")
        request = {k: body.get(k) for k in ("database", "table", "schema", "from_source",
                                            "from_target")}
        return await schemas.operate_schema(self.state, op, task, _strings(body, "sources"),
                                            request)

    async def operate_binlog(self, body: dict[str, Any]) -> dict[str, Any]:
        op, task = body.get("op"), body.get("task")
        if op not in binlogops.OPS or not isinstance(task, str) or not task:
            raise errors.MASTER_BAD_REQUEST(detail="binlog needs skip|replace|revert|list "
                                                   "and a task")
        return await binlogops.operate_binlog(self.state, op, task, _strings(body, "sources"),
                                              str(body.get("binlog_pos") or ""),
                                              _strings(body, "sqls"))

    async def show_ddl_locks(self, body: dict[str, Any]) -> dict[str, Any]:
        return await ddllocks.show_locks(self.state, str(body.get("task") or ""),
                                         _strings(body, "sources"))

    async def unlock_ddl_lock(self, body: dict[str, Any]) -> dict[str, Any]:
        lock = str(body.get("lock_id") or "")
        answer: dict[str, Any] = {"result": False}
        try:
            answer = await ddllocks.unlock(
                self.state, lock, str(body.get("owner") or ""), bool(body.get("force_remove")),
                (_strings(body, "sources"), str(body.get("database") or ""),
                 str(body.get("table") or ""), str(body.get("action") or "skip")))
            return answer
        finally:  # dm_master_shard_ddl_error: an unlock of a lock of a task that failed
            if not answer.get("result") and ddllocks.task_of(lock):
                metrics.SHARD_DDL_ERRORS.labels(ddllocks.task_of(lock), "unlock").inc()

    async def config_export(self, body: dict[str, Any]) -> dict[str, Any]:
        """Every source and task config, passwords encrypted (DM 2.0.5's config export)."""
        del body
        docs = {sid: from_doc(SourceConfig, doc).to_yaml(secrets="encrypt")
                for sid, doc in (await self.state.sources()).items()}
        tasks = {name: doc["export"] for name, doc in (await self.state.tasks()).items()
                 if "export" in doc}
        older = sorted(set(await self.state.tasks()) - set(tasks))
        msg = f"tasks started before pydm kept their passwords are left out: {older}" \
            if older else ""
        return {"result": True, "msg": msg, "sources": docs, "tasks": tasks}

    async def get_config(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, name = body.get("kind"), body.get("name")
        if kind == "task":
            doc = (await self.state.tasks()).get(str(name))
            if doc is None:
                raise errors.MASTER_TASK_NOT_FOUND(task=name)
            return {"result": True, "msg": "", "cfg": doc["yaml"]}
        if kind == "source":  # DM's shape: the config alone, as `cfg`
            shown = (await sources.show_sources(self.state, [str(name)]))["sources"][0]
            return {"result": True, "msg": "", "cfg": shown["msg"]}
        if kind in ("master", "worker"):  # as each put it in etcd when it started
            prefix = keys.MASTER_CONFIG if kind == "master" else keys.WORKER_CONFIG
            text = await self.state.store.get(keys.key(prefix, str(name)))
            if text is None:
                raise (errors.MASTER_NAME_NOT_FOUND if kind == "master"
                       else errors.WORKER_NOT_FOUND)(name=name)
            return {"result": True, "msg": "", "cfg": str(text)}
        raise errors.MASTER_BAD_REQUEST(detail="get-config supports task|source|master|worker "
                                               "<name>")
