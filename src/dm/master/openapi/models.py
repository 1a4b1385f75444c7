"""The bodies of DM's OpenAPI v1, as pydantic models: they check what clients send and
give the schemas of the document at /api/v1/dm.json (document.py). Field names are DM's;
a request field the API does not know is refused, naming it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dm.config.task import TaskMode


class Body(BaseModel):
    """Strict as DM's request validator: no unknown field, no "3306" for a number."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorWithMessage(Body):
    error_code: int = Field(description="pydm's (and DM's) error code; 0 when it has none")
    error_msg: str


class Security(Body):
    """TLS of a database link, as PEM text (the content, not paths)."""

    ssl_ca_content: str = ""
    ssl_cert_content: str = ""
    ssl_key_content: str = ""
    cert_allowed_cn: list[str] | None = None


class Purge(Body):
    interval: int | None = Field(default=3600, description="seconds between relay purges")
    expires: int | None = Field(default=0, description="hours a relay file is kept (0: ever)")
    remain_space: int | None = Field(default=15, description="GB of free disk to keep")


class RelayStatus(Body):
    master_binlog: str
    master_binlog_gtid: str
    relay_dir: str
    relay_binlog_gtid: str
    relay_catch_up_master: bool
    stage: str


class SourceStatus(Body):
    source_name: str
    worker_name: str
    relay_status: RelayStatus | None = None
    error_msg: str | None = None


class Source(Body):
    source_name: str
    host: str
    port: int
    user: str
    password: str
    enable_gtid: bool = False
    security: Security | None = None
    purge: Purge | None = None
    status_list: list[SourceStatus] | None = Field(
        default=None, description="answers only (GET with_status=true); ignored in requests")


class ShardingGroup(Body):
    target: str
    ddl_list: list[str]
    first_location: str
    synced: list[str]
    unsynced: list[str]


class DumpStatus(Body):
    total_tables: int
    total_chunks: int = Field(description="pydm: the dump's chunk files, planned")
    finished_chunks: int
    finished_bytes: int
    progress: str


class LoadStatus(Body):
    finished_bytes: int
    total_bytes: int
    progress: str
    meta_binlog: str
    meta_binlog_gtid: str


class SyncStatus(Body):
    total_events: int
    total_tps: int
    recent_tps: int
    master_binlog: str
    master_binlog_gtid: str
    syncer_binlog: str
    syncer_binlog_gtid: str
    blocking_ddls: list[str]
    unresolved_groups: list[ShardingGroup]
    synced: bool
    binlog_type: str
    seconds_behind_master: int


class SubTaskError(Body):
    """pydm's addition: the error that paused the subtask, with its way out."""

    error_code: int
    error_msg: str
    raw_cause: str = Field(description="what the server or the library said")
    workaround: str


class SubTaskStatus(Body):
    name: str
    source_name: str
    worker_name: str
    stage: str
    unit: str
    unresolved_ddl_lock_id: str | None = None
    error_msg: str | None = None
    errors: list[SubTaskError] = Field(default_factory=list)
    dump_status: DumpStatus | None = None
    load_status: LoadStatus | None = None
    sync_status: SyncStatus | None = None


class TaskTargetDataBase(Body):
    host: str
    port: int
    user: str
    password: str
    security: Security | None = None


class TaskBinLogFilterRule(Body):
    ignore_event: list[str] | None = None
    ignore_sql: list[str] | None = None


class MigrateSource(Body):
    source_name: str
    schema_: str = Field(alias="schema")
    table: str

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True,
                              serialize_by_alias=True)


class MigrateTarget(Body):
    schema_: str = Field(alias="schema")
    table: str

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True,
                              serialize_by_alias=True)


class TaskTableMigrateRule(Body):
    source: MigrateSource
    target: MigrateTarget | None = None
    binlog_filter_rule: list[str] | None = None


class TaskFullMigrateConf(Body):
    export_threads: int | None = Field(default=4, ge=0)
    import_threads: int | None = Field(default=16, ge=0)
    data_dir: str | None = None
    consistency: Literal["auto", "none", "flush", "lock"] | None = Field(
        default=None, description="`snapshot` (TiDB upstreams only) is not supported")


class TaskIncrMigrateConf(Body):
    repl_threads: int | None = Field(default=16, ge=0)
    repl_batch: int | None = Field(default=100, ge=0)


class TaskSourceConf(Body):
    source_name: str
    binlog_name: str | None = None
    binlog_pos: int | None = Field(default=None, ge=0)
    binlog_gtid: str | None = None


class TaskSourceConfig(Body):
    full_migrate_conf: TaskFullMigrateConf | None = None
    incr_migrate_conf: TaskIncrMigrateConf | None = None
    source_conf: list[TaskSourceConf]


class Task(Body):
    name: str
    task_mode: TaskMode
    shard_mode: Literal["pessimistic", "optimistic"] | None = None
    strict_optimistic_shard_mode: bool | None = None
    meta_schema: str | None = "dm_meta"
    enhance_online_schema_change: bool = True
    on_duplicate: Literal["overwrite", "error"] = "overwrite"
    target_config: TaskTargetDataBase
    binlog_filter_rule: dict[str, TaskBinLogFilterRule] | None = None
    table_migrate_rule: list[TaskTableMigrateRule]
    source_config: TaskSourceConfig


class CreateTaskRequest(Body):
    remove_meta: bool = False
    task: Task
    source_name_list: list[str] | None = None


class WorkerNameRequest(Body):
    worker_name: str


class StartRelayRequest(Body):
    worker_name_list: list[str]
    relay_binlog_name: str | None = None
    relay_binlog_gtid: str | None = None
    relay_dir: str | None = None


class StopRelayRequest(Body):
    worker_name_list: list[str]


class OperateTaskTableStructureRequest(Body):
    sql_content: str = Field(description="the CREATE TABLE to track the table with")
    flush: bool = Field(default=True, description=(
        "pydm saves the schema in the checkpoint at once, whatever this says"))
    sync: bool = Field(default=True, description=(
        "optimistic shard mode: the schema reaches the task's lock when the task resumes "
        "(pydm registers the checkpoint's schemas then); false is refused (49001)"))


class GetTaskTableStructureResponse(Body):
    schema_name: str
    table_name: str
    schema_create_sql: str


class ClusterMaster(Body):
    name: str
    alive: bool
    leader: bool
    addr: str


class ClusterWorker(Body):
    name: str
    addr: str
    bound_stage: str
    bound_source_name: str


class GetSourceListResponse(Body):
    total: int
    data: list[Source]


class GetSourceStatusResponse(Body):
    total: int
    data: list[SourceStatus]


class GetTaskListResponse(Body):
    total: int
    data: list[Task]


class GetTaskStatusResponse(Body):
    total: int
    data: list[SubTaskStatus]


class GetClusterMasterListResponse(Body):
    total: int
    data: list[ClusterMaster]


class GetClusterWorkerListResponse(Body):
    total: int
    data: list[ClusterWorker]
