"""DM's OpenAPI v1 paths, and the OpenAPI 3.0 document describing them.

OPERATIONS is the one list of the API: routes.py mounts a handler for each entry, and
`document()` describes each entry with the schemas of models.py, so the document at
/api/v1/dm.json and what the server does cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dm import __version__
from dm.master.openapi import models

Where = Literal["path", "query"]
STRINGS = "strings"  # a body or an answer that is a JSON array of strings


@dataclass(frozen=True)
class Param:
    name: str
    where: Where = "path"
    kind: Literal["string", "boolean", "strings"] = "string"


@dataclass(frozen=True)
class Operation:
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    operation_id: str
    summary: str
    tag: Literal["source", "task", "cluster"]
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | str | None = None
    body_required: bool = True
    answer: type[BaseModel] | str | None = None
    status: int = 200


_SOURCE = Param("source-name")
_TASK = Param("task-name")
_SCHEMA = Param("schema-name")
_SOURCES_QUERY = Param("source_name_list", "query", "strings")
_TASKS = "/api/v1/tasks/{task-name}"
_TASK_SOURCE = _TASKS + "/sources/{source-name}/schemas"

OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/api/v1/sources", "DMAPICreateSource",
              "create a source (as `dmctl operate-source create`)", "source",
              body=models.Source, answer=models.Source, status=201),
    Operation("GET", "/api/v1/sources", "DMAPIGetSourceList", "list the sources", "source",
              params=(Param("with_status", "query", "boolean"),),
              answer=models.GetSourceListResponse),
    Operation("DELETE", "/api/v1/sources/{source-name}", "DMAPIDeleteSource",
              "delete a source; with force=true its tasks are stopped on it first", "source",
              params=(_SOURCE, Param("force", "query", "boolean")), status=204),
    Operation("GET", "/api/v1/sources/{source-name}/status", "DMAPIGetSourceStatus",
              "a source's workers and relay status", "source", params=(_SOURCE,),
              answer=models.GetSourceStatusResponse),
    Operation("POST", "/api/v1/sources/{source-name}/start-relay", "DMAPIStartRelay",
              "the named workers start relaying the source", "source", params=(_SOURCE,),
              body=models.StartRelayRequest),
    Operation("POST", "/api/v1/sources/{source-name}/stop-relay", "DMAPIStopRelay",
              "the named workers stop relaying the source", "source", params=(_SOURCE,),
              body=models.StopRelayRequest),
    Operation("POST", "/api/v1/sources/{source-name}/pause-relay", "DMAPIPauseRelay",
              "pause the source's relay", "source", params=(_SOURCE,)),
    Operation("POST", "/api/v1/sources/{source-name}/resume-relay", "DMAPIResumeRelay",
              "resume the source's relay", "source", params=(_SOURCE,)),
    Operation("POST", "/api/v1/sources/{source-name}/transfer", "DMAPITransferSource",
              "bind the source to another worker (as `dmctl transfer-source`)", "source",
              params=(_SOURCE,), body=models.WorkerNameRequest),
    Operation("GET", "/api/v1/sources/{source-name}/schemas", "DMAPIGetSourceSchemaList",
              "the upstream's databases (system ones left out)", "source", params=(_SOURCE,),
              answer=STRINGS),
    Operation("GET", "/api/v1/sources/{source-name}/schemas/{schema-name}",
              "DMAPIGetSourceTableList", "the upstream tables of a database", "source",
              params=(_SOURCE, _SCHEMA), answer=STRINGS),
    Operation("POST", "/api/v1/tasks", "DMAPIStartTask",
              "check and start a task (as `dmctl start-task`)", "task",
              body=models.CreateTaskRequest, answer=models.Task, status=201),
    Operation("GET", "/api/v1/tasks", "DMAPIGetTaskList", "list the tasks", "task",
              answer=models.GetTaskListResponse),
    Operation("DELETE", _TASKS, "DMAPIDeleteTask", "stop a task (on the listed sources)",
              "task", params=(_TASK, _SOURCES_QUERY), status=204),
    Operation("GET", _TASKS + "/status", "DMAPIGetTaskStatus",
              "each subtask's stage, unit, progress, lag and error", "task",
              params=(_TASK, _SOURCES_QUERY), answer=models.GetTaskStatusResponse),
    Operation("POST", _TASKS + "/pause", "DMAPPauseTask",
              "pause a task (on the sources of the body, a list of names)", "task",
              params=(_TASK,), body=STRINGS, body_required=False),
    Operation("POST", _TASKS + "/resume", "DMAPIResumeTask",
              "resume a task (on the sources of the body, a list of names)", "task",
              params=(_TASK,), body=STRINGS, body_required=False),
    Operation("GET", _TASK_SOURCE, "DMAPIGetTaskSourceSchemaList",
              "the databases a paused subtask tracks", "task",
              params=(_TASK, _SOURCE), answer=STRINGS),
    Operation("GET", _TASK_SOURCE + "/{schema-name}", "DMAPIGetTaskSourceTableList",
              "the tables of a database a paused subtask tracks", "task",
              params=(_TASK, _SOURCE, _SCHEMA), answer=STRINGS),
    Operation("GET", _TASK_SOURCE + "/{schema-name}/{table-name}",
              "DMAPIGetTaskSourceTableStructure",
              "a tracked table's schema (as `dmctl binlog-schema list`)", "task",
              params=(_TASK, _SOURCE, _SCHEMA, Param("table-name")),
              answer=models.GetTaskTableStructureResponse),
    Operation("PUT", _TASK_SOURCE + "/{schema-name}/{table-name}",
              "DMAPIOperateTaskSourceTableStructure",
              "replace a tracked table's schema (as `dmctl binlog-schema update`)", "task",
              params=(_TASK, _SOURCE, _SCHEMA, Param("table-name")),
              body=models.OperateTaskTableStructureRequest),
    Operation("DELETE", _TASK_SOURCE + "/{schema-name}/{table-name}",
              "DMAPIDeleteTaskSourceTableStructure",
              "forget a tracked table's schema (as `dmctl binlog-schema delete`)", "task",
              params=(_TASK, _SOURCE, _SCHEMA, Param("table-name")), status=204),
    Operation("GET", "/api/v1/cluster/masters", "DMAPIGetClusterMasterList",
              "the masters", "cluster", answer=models.GetClusterMasterListResponse),
    Operation("DELETE", "/api/v1/cluster/masters/{master-name}", "DMAPIOfflineMasterNode",
              "remove a master from the cluster (as `dmctl offline-member --master`)",
              "cluster", params=(Param("master-name"),), status=204),
    Operation("GET", "/api/v1/cluster/workers", "DMAPIGetClusterWorkerList",
              "the workers", "cluster", answer=models.GetClusterWorkerListResponse),
    Operation("DELETE", "/api/v1/cluster/workers/{worker-name}", "DMAPIOfflineWorkerNode",
              "remove an offline worker (as `dmctl offline-member --worker`)", "cluster",
              params=(Param("worker-name"),), status=204),
)


def _ref(model: type[BaseModel] | str) -> dict[str, Any]:
    if isinstance(model, str):
        return {"type": "array", "items": {"type": "string"}}
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel] | str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _parameter(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = ({"type": "array", "items": {"type": "string"}}
                              if param.kind == "strings" else {"type": param.kind})
    out: dict[str, Any] = {"name": param.name, "in": param.where,
                           "required": param.where == "path", "schema": schema}
    if param.kind == "strings":
        out.update(style="form", explode=True)
    return out


def _openapi30(node: Any) -> Any:
    """pydantic's JSON Schema as OpenAPI 3.0 reads it: `X | None` is `nullable`."""
    if isinstance(node, list):
        return [_openapi30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi30(v) for k, v in node.items() if k != "title"}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            out["allOf"] = rest
        elif len(rest) == 1:
            out.update(rest[0])
        else:
            out["anyOf"] = rest
        out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": [op.tag], "summary": op.summary,
                           "operationId": op.operation_id}
    if op.params:
        out["parameters"] = [_parameter(p) for p in op.params]
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": _json(op.body)}
    answer: dict[str, Any] = {"description": "done"}
    if op.answer is not None:
        answer["content"] = _json(op.answer)
    out["responses"] = {
        str(op.status): answer,
        "307": {"description": "this master is not the leader: ask the leader (Location)"},
        "400": {"description": "refused or failed", "content": _json(models.ErrorWithMessage)},
    }
    return out


@cache
def document() -> dict[str, Any]:
    used = {m for op in OPERATIONS for m in (op.body, op.answer)
            if isinstance(m, type)} | {models.ErrorWithMessage}
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(used, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {
        "/api/v1/docs": {"get": {"tags": ["docs"], "summary": "this document in Swagger UI",
                                 "operationId": "GetDocHTML", "responses": {
                                     "200": {"description": "a web page",
                                             "content": {"text/html": {}}}}}},
        "/api/v1/dm.json": {"get": {"tags": ["docs"], "summary": "this document",
                                    "operationId": "GetDocJSON", "responses": {
                                        "200": {"description": "OpenAPI 3.0",
                                                "content": {"application/json": {}}}}}}}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {"title": "pydm OpenAPI v1", "version": __version__,
                 "description": "DM's OpenAPI v1 on dm-master (`openapi = true`). Errors "
                                "answer 400 with {error_code, error_msg}; a master that is "
                                "not the leader answers 307 to the leader."},
        "tags": [{"name": t} for t in ("source", "task", "cluster", "docs")],
        "paths": paths,
        "components": {"schemas": _openapi30(schemas.get("$defs", {}))},
    }
