"""DM's OpenAPI v1 on dm-master (`openapi = true`): one handler per entry of
document.OPERATIONS, each doing what the dmctl command of the same job does (the same
functions of dm.master behind both), plus the document, Swagger UI and the web page.

Every failure answers 400 with DM's `{error_code, error_msg}`; a master that is not the
leader answers 307 with the leader's URL, as DM's does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ValidationError

from dm import clustertls, errors
from dm.config.source import SourceConfig
from dm.config.stored import endpoint, from_doc, to_doc
from dm.config.task import parse_task_config
from dm.db import connect
from dm.master import members, relay, schemas, sources, tasks, transfer
from dm.master.election import Election
from dm.master.openapi import convert, models, status
from dm.master.openapi.document import OPERATIONS, Operation, document
from dm.master.state import ClusterState
from dm.schema.catalog import list_databases, list_tables

log = logging.getLogger(__name__)
Answer = BaseModel | list[str] | None
_CODE = re.compile(r"\[code=(\d+):")
_AIOHTTP_VARIABLE = re.compile(r"\{([^}]+)\}")  # DM's {source-name} is {source_name} here


class Refused(Exception):
    """A dmctl-shaped answer that said no (its code read from its message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _answer_failed(answer: dict[str, Any]) -> None:
    """A dmctl-shaped answer with `result: false` (its own or a source's) as a Refused."""
    failed = [answer] if not answer.get("result", True) and answer.get("msg") else []
    failed += [s for s in answer.get("sources", []) if not s.get("result", True)]
    if not failed and answer.get("result", True):
        return
    text = "; ".join(str(s.get("msg") or "failed") for s in failed) or "failed"
    match = _CODE.search(text)
    raise Refused(int(match.group(1)) if match else errors.OPENAPI_COMMON.code, text)


class Call:
    """One request's path and query parameters and its checked body."""

    def __init__(self, params: dict[str, Any], body: Any) -> None:
        self.params = params
        self.body = body

    def path(self, name: str) -> str:
        return str(self.params[name])


def _bad(detail: str, cause: BaseException | None = None) -> errors.DMError:
    return errors.OPENAPI_COMMON(cause, detail=detail)


def _cross_site(request: web.Request) -> bool:
    """A browser's request made by a page of another site (which a JSON body alone does not
    rule out: a form or a text/plain POST needs no preflight)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


async def _parse(request: web.Request, op: Operation) -> Call:
    known = {p.name for p in op.params if p.where == "query"}
    unknown = sorted(set(request.query) - known)
    if unknown:
        raise _bad(f"{op.method} {op.path} takes no query parameter {', '.join(unknown)}"
                   + (f" (it takes {', '.join(sorted(known))})" if known else ""))
    params: dict[str, Any] = {}
    for p in op.params:
        if p.where == "path":
            params[p.name] = request.match_info[p.name.replace("-", "_")]
        elif p.kind == "strings":
            params[p.name] = request.query.getall(p.name, [])
        elif p.kind == "boolean":
            raw = request.query.get(p.name, "false").lower()
            if raw not in ("true", "false", "1", "0"):
                raise _bad(f"query parameter {p.name}={raw!r} must be true or false")
            params[p.name] = raw in ("true", "1")
    return Call(params, await _body(request, op))


async def _body(request: web.Request, op: Operation) -> Any:
    if op.body is None:
        return None
    try:
        text = await request.text()
    except UnicodeDecodeError as exc:
        raise _bad("the body is not UTF-8 text", exc) from exc
    if not text.strip():
        if op.body_required:
            raise _bad("the request needs a JSON body")
        return None
    if request.content_type != "application/json":
        raise _bad(f"the body must be sent as application/json, not {request.content_type}")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise _bad("the body is not valid JSON", exc) from exc
    if isinstance(op.body, str):
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise _bad("the body must be a list of names")
        return raw
    try:
        return op.body.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        raise _bad(f"the {op.body.__name__} in the body is invalid: {problems}") from exc


def _respond(op: Operation, answer: Answer) -> web.Response:
    if op.status == 204 or answer is None:
        return web.Response(status=op.status)
    if isinstance(answer, BaseModel):
        return web.json_response(answer.model_dump(mode="json", by_alias=True,
                                                   exclude_none=True), status=op.status)
    return web.json_response(answer, status=op.status)


def _error(code: int, message: str, status: int = 400) -> web.Response:
    return web.json_response(models.ErrorWithMessage(error_code=code,
                                                     error_msg=message).model_dump(),
                             status=status)


_WEB = resources.files("dm.master") / "web"
_SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")


class OpenAPI:
    def __init__(self, state: ClusterState, election: Election, name: str) -> None:
        self.state = state
        self.election = election
        self.name = name
        self.handlers: dict[str, Callable[[Call], Awaitable[Answer]]] = {
            "DMAPICreateSource": self.create_source,
            "DMAPIGetSourceList": self.source_list,
            "DMAPIDeleteSource": self.delete_source,
            "DMAPIGetSourceStatus": self.source_status,
            "DMAPIStartRelay": self.start_relay,
            "DMAPIStopRelay": self.stop_relay,
            "DMAPIPauseRelay": self.pause_relay,
            "DMAPIResumeRelay": self.resume_relay,
            "DMAPITransferSource": self.transfer_source,
            "DMAPIGetSourceSchemaList": self.upstream_databases,
            "DMAPIGetSourceTableList": self.upstream_tables,
            "DMAPIStartTask": self.start_task,
            "DMAPIGetTaskList": self.task_list,
            "DMAPIDeleteTask": self.delete_task,
            "DMAPIGetTaskStatus": self.task_status,
            "DMAPPauseTask": self.pause_task,
            "DMAPIResumeTask": self.resume_task,
            "DMAPIGetTaskSourceSchemaList": self.tracked_databases,
            "DMAPIGetTaskSourceTableList": self.tracked_tables,
            "DMAPIGetTaskSourceTableStructure": self.tracked_table,
            "DMAPIOperateTaskSourceTableStructure": self.update_tracked_table,
            "DMAPIDeleteTaskSourceTableStructure": self.delete_tracked_table,
            "DMAPIGetClusterMasterList": self.masters,
            "DMAPIOfflineMasterNode": self.offline_master,
            "DMAPIGetClusterWorkerList": self.workers,
            "DMAPIOfflineWorkerNode": self.offline_worker,
        }

    def mount(self, app: web.Application) -> None:
        for op in OPERATIONS:
            app.router.add_route(op.method, _AIOHTTP_VARIABLE.sub(
                lambda m: "{" + m[1].replace("-", "_") + "}", op.path), self._endpoint(op))
        app.router.add_get("/api/v1/dm.json", self.doc_json)
        app.router.add_get("/api/v1/docs", self.doc_html)
        app.router.add_get("/api/v1/docs/{file}", self.doc_asset)
        app.router.add_get("/dashboard", self.dashboard_root)
        app.router.add_get("/dashboard/", self.dashboard)
        app.router.add_get("/dashboard/{file}", self.dashboard)
        app.router.add_route("*", "/api/v1/{rest:.*}", self.no_operation)  # the last route

    def _endpoint(self, op: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
        handler = self.handlers[op.operation_id]

        async def serve(request: web.Request) -> web.Response:
            try:
                if op.method != "GET" and _cross_site(request):
                    return _error(errors.OPENAPI_COMMON.code, str(_bad(
                        "a page of another site may not change the cluster")), status=403)
                if not self.election.is_leader:
                    return await self._to_leader(request)
                return _respond(op, await handler(await _parse(request, op)))
            except Refused as exc:
                return _error(exc.code, str(exc))
            except web.HTTPRequestEntityTooLarge as exc:
                return _error(errors.OPENAPI_COMMON.code, str(_bad(exc.text or "too large")),
                              status=413)
            except Exception as exc:
                failure = errors.wrap(exc)
                if not isinstance(exc, errors.DMError):
                    log.exception("OpenAPI %s failed", op.operation_id)
                return _error(failure.code, str(failure))

        return serve

    async def _to_leader(self, request: web.Request) -> web.Response:
        leader = await self.election.leader()
        if leader is None:
            raise errors.MASTER_NOT_LEADER(name=self.name)
        return web.Response(status=307, headers={
            "Location": clustertls.url(leader["address"], request.path_qs)})

    async def no_operation(self, request: web.Request) -> web.Response:
        return _error(errors.OPENAPI_COMMON.code, str(errors.OPENAPI_COMMON(
            detail=f"no operation {request.method} {request.path}")), status=404)

    # --- the document, Swagger UI, the web page ------------------------------------
    async def doc_json(self, _: web.Request) -> web.Response:
        return web.json_response(document())

    async def doc_html(self, _: web.Request) -> web.Response:
        return web.Response(text=(_WEB / "swagger.html").read_text(), content_type="text/html")

    async def doc_asset(self, request: web.Request) -> web.StreamResponse:
        """Swagger UI's script and style sheet (package swagger-ui-bundle)."""
        name = request.match_info["file"]
        if name not in _SWAGGER_FILES:
            return _error(errors.OPENAPI_COMMON.code, f"no file {name}", status=404)
        return web.FileResponse(_swagger_ui() / name)

    async def dashboard_root(self, _: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": "/dashboard/"})

    async def dashboard(self, request: web.Request) -> web.Response:
        """The web page: served by the leader (a follower sends the browser there, so the
        page's API calls stay on one origin)."""
        if not self.election.is_leader:
            try:
                return await self._to_leader(request)
            except (errors.DMError, TimeoutError) as exc:  # no leader, or etcd unreachable
                failure = errors.wrap(exc)
                return _error(failure.code, str(failure))
        name = request.match_info.get("file") or "index.html"
        page = _WEB / "dashboard" / name
        if not re.fullmatch(r"[a-z]+\.(html|js|css)", name) or not page.is_file():
            return _error(errors.OPENAPI_COMMON.code, f"no page {name}", status=404)
        kinds = {"html": "text/html", "js": "application/javascript", "css": "text/css"}
        return web.Response(text=page.read_text(), content_type=kinds[name.rsplit(".")[1]])

    # --- sources --------------------------------------------------------------------
    async def _source(self, name: str) -> SourceConfig:
        doc = await self.state.source(name)
        if doc is None:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=name)
        return from_doc(SourceConfig, doc)

    async def create_source(self, call: Call) -> Answer:
        source: models.Source = call.body
        file = {"name": f"the source of POST /api/v1/sources ({source.source_name})",
                "text": convert.source_yaml(source)}
        _answer_failed(await sources.create_sources(self.state, [file]))
        return convert.shown_source(source)

    async def source_list(self, call: Call) -> Answer:
        docs = await self.state.sources()
        out = []
        for name in sorted(docs):
            shown = await status.source_statuses(self.state, name) \
                if call.params["with_status"] else None
            out.append(convert.source_model(from_doc(SourceConfig, docs[name]), shown))
        return models.GetSourceListResponse(total=len(out), data=out)

    async def delete_source(self, call: Call) -> Answer:
        name = call.path("source-name")
        await self._source(name)
        if call.params["force"]:  # its tasks stopped on it and its relay stopped first
            for task in sorted(t for s, t in await self.state.subtasks() if s == name):
                _answer_failed(await tasks.operate_task(self.state, "stop", task, [name]))
            named = sorted(w for w, s in (await self.state.relay_workers()).items()
                           if s == name)
            if named:
                _answer_failed(await relay.operate_relay(self.state, "stop", [name], named))
        _answer_failed(await sources.stop_sources(self.state, [name]))
        return None

    async def source_status(self, call: Call) -> Answer:
        name = call.path("source-name")
        await self._source(name)
        shown = await status.source_statuses(self.state, name)
        return models.GetSourceStatusResponse(total=len(shown), data=shown)

    async def start_relay(self, call: Call) -> Answer:
        body: models.StartRelayRequest = call.body
        name = call.path("source-name")
        await self._relay_start_point(name, body)
        _answer_failed(await relay.operate_relay(self.state, "start", [name],
                                                 body.worker_name_list))
        return None

    async def _relay_start_point(self, name: str, body: models.StartRelayRequest) -> None:
        """relay_binlog_name/_gtid/relay_dir of the request go into the source's config
        (as DM's), which a relay not started yet begins from."""
        cfg = await self._source(name)
        wanted = {key: value for key, value in (
            ("relay_binlog_name", body.relay_binlog_name),
            ("relay_binlog_gtid", body.relay_binlog_gtid), ("relay_dir", body.relay_dir))
            if value is not None and value != getattr(cfg, key)}
        if not wanted:
            return
        if await self.state.relay_stage(name) is not None:
            raise _bad(f"the relay of source {name} is already started, so "
                       f"{', '.join(wanted)} cannot change now; stop-relay it first")
        try:
            updated = SourceConfig.model_validate({**cfg.model_dump(by_alias=False),
                                                   **wanted})
        except ValidationError as exc:
            raise _bad(f"{', '.join(wanted)} of the request is invalid", exc) from exc
        await self.state.put_source(name, to_doc(updated))

    async def stop_relay(self, call: Call) -> Answer:
        body: models.StopRelayRequest = call.body
        _answer_failed(await relay.operate_relay(self.state, "stop", [call.path("source-name")],
                                                 body.worker_name_list))
        return None

    async def pause_relay(self, call: Call) -> Answer:
        _answer_failed(await relay.operate_relay(self.state, "pause",
                                                 [call.path("source-name")], []))
        return None

    async def resume_relay(self, call: Call) -> Answer:
        _answer_failed(await relay.operate_relay(self.state, "resume",
                                                 [call.path("source-name")], []))
        return None

    async def transfer_source(self, call: Call) -> Answer:
        body: models.WorkerNameRequest = call.body
        _answer_failed(await transfer.transfer_source(self.state, call.path("source-name"),
                                                      body.worker_name))
        return None

    async def upstream_databases(self, call: Call) -> Answer:
        cfg = await self._source(call.path("source-name"))
        return await asyncio.to_thread(_upstream_names, cfg, None)

    async def upstream_tables(self, call: Call) -> Answer:
        cfg = await self._source(call.path("source-name"))
        return await asyncio.to_thread(_upstream_names, cfg, call.path("schema-name"))

    # --- tasks ----------------------------------------------------------------------
    async def start_task(self, call: Call) -> Answer:
        request: models.CreateTaskRequest = call.body
        task = request.task
        listed = {conf.source_name for conf in task.source_config.source_conf}
        for name in request.source_name_list or []:
            if name not in listed:
                raise errors.OPENAPI_SOURCE_NOT_FOUND(
                    source=name, detail="source_name_list names a source that "
                                        "task.source_config.source_conf does not")
        shown = convert.shown_task(task)
        file = {"name": f"the task of POST /api/v1/tasks ({task.name})",
                "text": convert.task_yaml(task)}
        _answer_failed(await tasks.start_task(
            self.state, file, request.remove_meta, request.source_name_list or [],
            shown=shown.model_dump(mode="json", by_alias=True, exclude_none=True)))
        return shown

    async def task_list(self, _: Call) -> Answer:
        running: dict[str, set[str]] = {}
        for source, task in await self.state.subtasks():
            running.setdefault(task, set()).add(source)
        out = []
        for name, doc in sorted((await self.state.tasks()).items()):
            if name not in running:
                continue
            if "openapi" in doc:
                out.append(convert.running_part(models.Task.model_validate(doc["openapi"]),
                                                running[name]))
            else:  # started from task.yaml (checked then; read back without refusals)
                out.append(convert.task_model(parse_task_config(
                    doc["yaml"], f"the stored config of task {name}", accept_unsupported=True),
                    running[name]))
        return models.GetTaskListResponse(total=len(out), data=out)

    async def delete_task(self, call: Call) -> Answer:
        _answer_failed(await tasks.operate_task(self.state, "stop", call.path("task-name"),
                                                call.params["source_name_list"]))
        return None

    async def task_status(self, call: Call) -> Answer:
        shown = await status.subtask_statuses(self.state, call.path("task-name"),
                                              call.params["source_name_list"])
        return models.GetTaskStatusResponse(total=len(shown), data=shown)

    async def pause_task(self, call: Call) -> Answer:
        _answer_failed(await tasks.operate_task(self.state, "pause", call.path("task-name"),
                                                call.body or []))
        return None

    async def resume_task(self, call: Call) -> Answer:
        _answer_failed(await tasks.operate_task(self.state, "resume", call.path("task-name"),
                                                call.body or []))
        return None

    async def _tracked(self, call: Call, op: str, **request: Any) -> str:
        answer = await schemas.operate_schema(self.state, op, call.path("task-name"),
                                              [call.path("source-name")], request)
        _answer_failed(answer)
        return str(answer["sources"][0]["msg"])

    async def tracked_databases(self, call: Call) -> Answer:
        return list(json.loads(await self._tracked(call, "databases")))

    async def tracked_tables(self, call: Call) -> Answer:
        return list(json.loads(await self._tracked(call, "tables",
                                                   database=call.path("schema-name"))))

    async def tracked_table(self, call: Call) -> Answer:
        db, table = call.path("schema-name"), call.path("table-name")
        sql = await self._tracked(call, "list", database=db, table=table)
        return models.GetTaskTableStructureResponse(schema_name=db, table_name=table,
                                                    schema_create_sql=sql)

    async def update_tracked_table(self, call: Call) -> Answer:
        body: models.OperateTaskTableStructureRequest = call.body
        if not body.sync:  # pydm always gives an optimistic lock the schema at resume
            raise _bad("sync: false is not supported: the task's optimistic lock gets the "
                       "updated schema when the task resumes; leave sync out or true")
        await self._tracked(call, "update", database=call.path("schema-name"),
                            table=call.path("table-name"), schema=body.sql_content)
        return None

    async def delete_tracked_table(self, call: Call) -> Answer:
        await self._tracked(call, "delete", database=call.path("schema-name"),
                            table=call.path("table-name"))
        return None

    # --- cluster --------------------------------------------------------------------
    async def masters(self, _: Call) -> Answer:
        leader = await self.election.leader()
        out = [models.ClusterMaster(name=m["name"], alive=m["alive"],
                                    leader=leader is not None and leader["name"] == m["name"],
                                    addr=(m["peerURLs"] or [""])[0])
               for m in await self.election.members()]
        return models.GetClusterMasterListResponse(total=len(out), data=out)

    async def offline_master(self, call: Call) -> Answer:
        _answer_failed(await members.offline_member(self.state, "master",
                                                    call.path("master-name")))
        return None

    async def workers(self, _: Call) -> Answer:
        out = [models.ClusterWorker(name=w["name"], addr=w["addr"], bound_stage=w["stage"],
                                    bound_source_name=w["source"])
               for w in await members.worker_stages(self.state)]
        return models.GetClusterWorkerListResponse(total=len(out), data=out)

    async def offline_worker(self, call: Call) -> Answer:
        _answer_failed(await members.offline_member(self.state, "worker",
                                                    call.path("worker-name")))
        return None


def _upstream_names(cfg: SourceConfig, database: str | None) -> list[str]:
    """The upstream's databases (system ones left out), or the tables of one."""
    conn = connect(endpoint(cfg.from_), what=f"source {cfg.source_id}",
                   file=f"the config of source {cfg.source_id}")
    try:
        if database is None:
            return list_databases(conn, lambda _s, _t: True)
        return [t for _, t, _ in list_tables(conn, lambda s, _t: s == database)]
    finally:
        conn.close()


def _swagger_ui() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)
