"""task.yaml: what to migrate from which sources to which target (DM's task.go).

`load_task_config` / `parse_task_config` read a file, validate every key, run
DM's cross-checks (dm.config.taskcheck) and return a TaskConfig whose
`subtask_configs()` are the per-source configs the master hands to workers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from dm import errors
from dm.config.base import (
    BinlogEventRule,
    ConfigModel,
    DBConfig,
    GoDuration,
    LoadedConfig,
    Secrets,
    display_db,
    dm_error,
    dump_yaml,
    parse_size,
)
from dm.config.duration import parse_go_duration
from dm.config.source import BinlogName, SourceId
from dm.config.yamlfile import Findings, KeyPath, load_yaml, read_text
from dm.rules.patterns import PatternError, check_value, check_wildcard

if TYPE_CHECKING:
    from dm.config.subtask import SubTaskConfig

TaskMode = Literal["full", "incremental", "all", "dump", "load", "load&sync"]
TASK_MODES: tuple[str, ...] = ("full", "incremental", "all", "dump", "load", "load&sync")
DUMP_MODES = frozenset({"full", "all", "dump"})

DEFAULT_SHADOW_TABLE_RULE = "^_(.+)_(?:new|gho)$"
DEFAULT_TRASH_TABLE_RULE = "^_(.+)_(?:ghc|del|old)$"

CHECKING_ITEMS: dict[str, str] = {
    "all": "all checking items",
    "dump_privilege": "dump privileges of the source user",
    "replication_privilege": "replication privileges of the source user",
    "version": "MySQL/MariaDB version",
    "server_id": "server_id is set",
    "binlog_enable": "binary log is enabled",
    "binlog_format": "binlog_format is ROW",
    "binlog_row_image": "binlog_row_image is FULL",
    "table_schema": "table schemas are compatible",
    "schema_of_shard_tables": "shard tables have the same schema",
    "auto_increment_ID": "auto-increment IDs of shard tables do not conflict",
    "online_ddl": "no online schema change is in progress",
    "binlog_db": "binlog_do_db / binlog_ignore_db do not exclude migrated schemas",
    "conn_number": "enough connections upstream and downstream",
    "target_privilege": "privileges of the target user",
    "meta_position": "the meta binlog position is valid",
}


# --- value checks that carry DM's error codes --------------------------------------
def _choice(code: int, allowed: tuple[str, ...], *, fold: bool = False) -> BeforeValidator:
    """Refuse a value outside `allowed` with DM's code (before the Literal check)."""

    def check(value: Any) -> str:
        text = str(value).lower() if fold else str(value)
        if text not in allowed:
            raise dm_error(code, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        return text

    return BeforeValidator(check)


def _wildcard(code: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            if value:
                check_wildcard(value)
        except PatternError as exc:
            raise dm_error(code, str(exc)) from None
        return value

    return AfterValidator(check)


def _ba_value(value: str) -> str:
    try:
        if not value:
            raise PatternError("must not be empty")
        check_value(value)
    except PatternError as exc:
        raise dm_error(errors.CONFIG_BA_LIST.code, str(exc)) from None
    return value


def _checking_item(value: str) -> str:
    if value not in CHECKING_ITEMS:
        raise dm_error(errors.CONFIG_CHECKING_ITEM.code, "unknown", known=", ".join(CHECKING_ITEMS))
    return value


def _online_ddl_rule(value: str) -> str:
    try:
        groups = re.compile(anchored(value)).groups
    except re.error as exc:
        raise dm_error(
            errors.CONFIG_ONLINE_DDL_REGEX.code, f"bad regular expression: {exc}"
        ) from None
    if groups != 1:
        raise dm_error(
            errors.CONFIG_ONLINE_DDL_REGEX.code, f"{value!r} has {groups} groups instead of one"
        )
    return value


def anchored(rule: str) -> str:
    """DM anchors online-DDL table rules with ^ and $."""
    return ("" if rule.startswith("^") else "^") + rule + ("" if rule.endswith("$") else "$")


def _chunk_filesize(value: str) -> str:
    try:
        if value:
            parse_size(value)
    except ValueError:
        raise dm_error(errors.CONFIG_CHUNK_FILESIZE.code, "not a size") from None
    return value


def _import_mode(value: Any) -> str:
    mode = str(value).lower()
    if mode in ("", "logical", "sql", "loader"):
        return "logical"
    reason = (
        "physical import needs TiDB Lightning's local backend, which pydm does not have"
        if mode == "physical"
        else f"{value!r} is not an import mode"
    )
    raise dm_error(errors.CONFIG_LOAD_MODE.code, reason)


def _safe_mode_duration(value: Any) -> timedelta | None:
    if value is None or value == "":
        return None
    try:
        return parse_go_duration(value)
    except ValueError as exc:
        raise dm_error(errors.CONFIG_SAFE_MODE_DURATION.code, str(exc)) from None


Wildcard = Annotated[str, _wildcard(errors.CONFIG_TABLE_ROUTER.code)]
BAValue = Annotated[str, AfterValidator(_ba_value)]
CheckingItem = Annotated[str, AfterValidator(_checking_item)]
OnlineDDLRule = Annotated[str, AfterValidator(_online_ddl_rule)]


# --- rules ------------------------------------------------------------------------
def _regexp(value: str) -> str:
    if not value:
        raise dm_error(errors.CONFIG_TABLE_ROUTER.code, "must not be empty")
    try:
        re.compile(value)
    except re.error as exc:
        raise dm_error(errors.CONFIG_TABLE_ROUTER.code,
                       f"{value!r} is not a regular expression: {exc}") from None
    return value


def _column(value: str) -> str:
    if not value:
        raise dm_error(errors.CONFIG_TABLE_ROUTER.code, "target-column must not be empty")
    return value


Regexp = Annotated[str, AfterValidator(_regexp)]
TargetColumn = Annotated[str, AfterValidator(_column)]


class TableExtractor(ConfigModel):
    table_regexp: Regexp
    target_column: TargetColumn

    @property
    def regexp(self) -> str:
        return self.table_regexp


class SchemaExtractor(ConfigModel):
    schema_regexp: Regexp
    target_column: TargetColumn

    @property
    def regexp(self) -> str:
        return self.schema_regexp


class SourceExtractor(ConfigModel):
    source_regexp: Regexp
    target_column: TargetColumn

    @property
    def regexp(self) -> str:
        return self.source_regexp


class RouteRule(ConfigModel):
    """`routes` entry: upstream pattern -> downstream name; DM 5.4+'s `extract-*` write
    the upstream table's, schema's or source's name (a regexp's groups) into extra
    downstream columns."""

    schema_pattern: Wildcard
    table_pattern: Wildcard = ""
    target_schema: str
    target_table: str = ""
    extract_table: TableExtractor | None = None
    extract_schema: SchemaExtractor | None = None
    extract_source: SourceExtractor | None = None

    @field_validator("target_schema")
    @classmethod
    def _target(cls, value: str) -> str:
        if not value:
            raise dm_error(errors.CONFIG_TABLE_ROUTER.code, "target-schema must not be empty")
        return value


class TableRef(ConfigModel):
    db_name: BAValue
    tbl_name: BAValue


class BARule(ConfigModel):
    """`block-allow-list` entry (see dm.rules.balist for the precedence)."""

    do_dbs: list[BAValue] = Field(default_factory=list)
    ignore_dbs: list[BAValue] = Field(default_factory=list)
    do_tables: list[TableRef] = Field(default_factory=list)
    ignore_tables: list[TableRef] = Field(default_factory=list)


class ColumnMappingRule(ConfigModel):
    """`column-mappings` entry (deprecated by DM in 6.6)."""

    schema_pattern: Annotated[str, _wildcard(errors.CONFIG_COLUMN_MAPPING.code)]
    table_pattern: Annotated[str, _wildcard(errors.CONFIG_COLUMN_MAPPING.code)] = ""
    source_column: str = ""
    target_column: str
    expression: Literal["add prefix", "add suffix", "partition id"]
    arguments: list[str] = Field(default_factory=list)
    create_table_query: str = ""

    @model_validator(mode="after")
    def _arguments(self) -> ColumnMappingRule:
        if not self.target_column:
            raise dm_error(errors.CONFIG_COLUMN_MAPPING.code, "target-column must not be empty")
        wanted = (3, 4) if self.expression == "partition id" else (1,)
        if len(self.arguments) not in wanted:
            raise dm_error(
                errors.CONFIG_COLUMN_MAPPING.code,
                f"{self.expression!r} takes {' or '.join(map(str, wanted))} arguments, "
                f"got {len(self.arguments)}",
            )
        if len(self.arguments) == 3 and self.expression == "partition id":
            self.arguments.append("")  # the separator defaults to ""
        return self


class ExpressionFilter(ConfigModel):
    """`expression-filter` entry: skip row changes of one table matching a SQL condition."""

    schema_: str = Field(default="", alias="schema")
    table: str = ""
    insert_value_expr: str = ""
    update_old_value_expr: str = ""
    update_new_value_expr: str = ""
    delete_value_expr: str = ""


# --- unit configs -------------------------------------------------------------------
class MydumperConfig(ConfigModel):
    mydumper_path: str = "./bin/mydumper"  # unused; must be non-empty when the task dumps
    threads: int = Field(default=4, ge=0)
    chunk_filesize: Annotated[str, AfterValidator(_chunk_filesize)] = "64"  # bare number: MiB
    statement_size: int = Field(default=0, ge=0)
    rows: int = Field(default=0, ge=0)  # 0: DM chunks by 200000 rows
    where: str = ""
    skip_tz_utc: bool = True
    extra_args: str = ""

    def chunk_filesize_bytes(self) -> int:
        return parse_size(self.chunk_filesize or "64")


class LoaderConfig(ConfigModel):
    pool_size: int = Field(default=16, ge=0)
    dir: str = "./dumped_data"  # full and all: `.<task name>` is appended in the subtask
    import_mode: Annotated[Literal["logical"], BeforeValidator(_import_mode)] = "logical"
    on_duplicate: Annotated[
        Literal["replace", "error", "ignore"],
        _choice(errors.CONFIG_ON_DUPLICATE.code, ("replace", "error", "ignore"), fold=True),
    ] = Field(
        default="replace",
        validation_alias=AliasChoices("on-duplicate-logical", "on-duplicate", "on_duplicate"),
    )


class SyncerConfig(ConfigModel):
    meta_file: str = ""
    worker_count: int = Field(default=16, ge=0)
    batch: int = Field(default=100, ge=0)
    queue_size: int = Field(default=1024, ge=0)
    checkpoint_flush_interval: int = Field(default=30, ge=0)  # seconds
    compact: bool = False
    multiple_rows: bool = False
    safe_mode: bool = False
    safe_mode_duration: Annotated[GoDuration | None, BeforeValidator(_safe_mode_duration)] = None
    max_retry: int = 0  # deprecated
    auto_fix_gtid: bool = False  # deprecated: the source config decides
    enable_gtid: bool = False  # deprecated: the source config decides
    disable_detect: bool = False  # deprecated
    enable_ansi_quotes: bool = False  # deprecated: ANSI_QUOTES is discovered

    @model_validator(mode="after")
    def _safe_mode_conflict(self) -> SyncerConfig:
        if self.safe_mode and self.safe_mode_duration == timedelta(0):
            raise dm_error(errors.CONFIG_SAFE_MODE_CONFLICT.code, "conflict")
        return self

    def effective(self) -> SyncerConfig:
        """DM's defaults for zero values: queue 1024, flush 30 s, safe mode for 2 flushes."""
        flush = self.checkpoint_flush_interval or 30
        return self.model_copy(
            update={
                "queue_size": self.queue_size or 1024,
                "checkpoint_flush_interval": flush,
                "safe_mode_duration": self.safe_mode_duration
                if self.safe_mode_duration is not None
                else timedelta(seconds=2 * flush),
            }
        )


class TiDBExtraConfig(ConfigModel):
    """Hidden `tidb` block; backend `tidb` is Lightning's SQL import, which pydm's loader does."""

    status_port: int = 0
    pd_addr: str = ""
    backend: Literal["", "tidb"] = ""


# --- task ---------------------------------------------------------------------------
class Meta(ConfigModel):
    """Where an incremental task starts when no checkpoint exists."""

    binlog_name: BinlogName = ""
    binlog_pos: int = Field(default=0, ge=0, le=2**32 - 1)
    binlog_gtid: str = ""


class MySQLInstance(ConfigModel):
    """One `mysql-instances` entry: a source and the rules and unit configs it uses."""

    source_id: SourceId
    meta: Meta | None = None
    route_rules: list[str] = Field(default_factory=list)
    filter_rules: list[str] = Field(default_factory=list)
    column_mapping_rules: list[str] = Field(default_factory=list)
    expression_filters: list[str] = Field(default_factory=list)
    block_allow_list: str = ""
    black_white_list: str = ""  # deprecated alias of block-allow-list
    mydumper_config_name: str = ""
    mydumper: MydumperConfig | None = None
    mydumper_thread: int = Field(default=0, ge=0)
    loader_config_name: str = ""
    loader: LoaderConfig | None = None
    loader_thread: int = Field(default=0, ge=0)
    syncer_config_name: str = ""
    syncer: SyncerConfig | None = None
    syncer_thread: int = Field(default=0, ge=0)

    @property
    def ba_list_name(self) -> str:
        return self.block_allow_list or self.black_white_list


class TaskConfig(LoadedConfig):
    """A whole task.yaml. Use `parse_task_config`/`load_task_config` to get a checked one."""

    name: str
    task_mode: Annotated[TaskMode, _choice(errors.CONFIG_TASK_MODE.code, TASK_MODES)]
    shard_mode: Annotated[
        Literal["", "pessimistic", "optimistic"],
        _choice(errors.CONFIG_SHARD_MODE.code, ("", "pessimistic", "optimistic")),
    ] = ""
    is_sharding: bool = False  # deprecated: true means shard-mode pessimistic
    # DM 7.2+: conflicting (type-2) DDLs pause at once instead of waiting for every shard
    strict_optimistic_shard_mode: bool = False
    case_sensitive: bool = False
    collation_compatible: Annotated[
        Literal["loose", "strict"], _choice(errors.CONFIG_COLLATION.code, ("loose", "strict"))
    ] = Field(default="loose", alias="collation_compatible")
    meta_schema: str = "dm_meta"
    ignore_checking_items: list[CheckingItem] = Field(default_factory=list)
    clean_dump_file: bool = True
    target_database: DBConfig
    mysql_instances: list[MySQLInstance]
    online_ddl: bool = False
    online_ddl_scheme: Annotated[
        str, _choice(errors.CONFIG_ONLINE_SCHEME.code, ("", "pt", "gh-ost"))
    ] = ""  # deprecated
    shadow_table_rules: list[OnlineDDLRule] = Field(default_factory=list)
    trash_table_rules: list[OnlineDDLRule] = Field(default_factory=list)
    routes: dict[str, RouteRule] = Field(default_factory=dict)
    filters: dict[str, BinlogEventRule] = Field(default_factory=dict)
    column_mappings: dict[str, ColumnMappingRule] = Field(default_factory=dict)
    expression_filter: dict[str, ExpressionFilter] = Field(default_factory=dict)
    block_allow_list: dict[str, BARule] = Field(default_factory=dict)
    black_white_list: dict[str, BARule] = Field(default_factory=dict)  # deprecated alias
    mydumpers: dict[str, MydumperConfig] = Field(default_factory=dict)
    loaders: dict[str, LoaderConfig] = Field(default_factory=dict)
    syncers: dict[str, SyncerConfig] = Field(default_factory=dict)
    tidb: TiDBExtraConfig | None = None
    # deprecated, accepted with a warning and ignored
    enable_heartbeat: bool = False
    heartbeat_update_interval: int = 1
    heartbeat_report_interval: int = 10
    timezone: str = ""
    ansi_quotes: bool = False
    remove_meta: bool = False

    def units_of(self, inst: MySQLInstance) -> tuple[MydumperConfig, LoaderConfig, SyncerConfig]:
        """The mydumper, loader and syncer settings `inst` runs with, overrides applied."""
        mydumper = (
            self.mydumpers.get(inst.mydumper_config_name) or inst.mydumper or MydumperConfig()
        )
        loader = self.loaders.get(inst.loader_config_name) or inst.loader or LoaderConfig()
        syncer = self.syncers.get(inst.syncer_config_name) or inst.syncer or SyncerConfig()
        mydumper = mydumper.model_copy(
            update={
                "chunk_filesize": mydumper.chunk_filesize or "64",
                "threads": inst.mydumper_thread or mydumper.threads,
            }
        )
        loader = loader.model_copy(update={"pool_size": inst.loader_thread or loader.pool_size})
        syncer = syncer.effective().model_copy(
            update={"worker_count": inst.syncer_thread or syncer.worker_count}
        )
        return mydumper, loader, syncer

    def subtask_configs(self) -> list[SubTaskConfig]:
        """One SubTaskConfig per mysql-instances entry, every reference resolved."""
        from dm.config.subtask import build_subtask

        return [build_subtask(self, inst) for inst in self.mysql_instances]

    def to_yaml(self, *, secrets: Secrets = "encrypt") -> str:
        """The config as YAML (for `get-config`), the target password encrypted or masked."""
        return dump_yaml(self, {"target_database": display_db(self.target_database, secrets)})


# Missing keys DM reports with their own codes.
_MISSING: dict[KeyPath, errors.ErrorCode] = {
    ("name",): errors.CONFIG_NEED_TASK_NAME,
    ("target-database",): errors.CONFIG_NEED_TARGET_DB,
    ("mysql-instances",): errors.CONFIG_NO_INSTANCES,
}


def parse_task_config(text: str, filename: str, *,
                      accept_unsupported: bool = False) -> TaskConfig:
    """Parse and check task.yaml text; every failure is a DMError naming file:line: key.
    Keys pydm does not act on yet are refused (unsupported.py) unless `accept_unsupported`,
    which only tests of the parsing itself use."""
    from dm.config.taskcheck import check_task
    from dm.config.unsupported import refuse_task

    findings = Findings(load_yaml(text, filename))
    cfg = findings.validate(TaskConfig, missing=_MISSING)
    check_task(cfg, findings)
    if not accept_unsupported:
        refuse_task(cfg, findings)
    findings.raise_errors()
    cfg._warnings = findings.warnings
    return cfg


def load_task_config(path: str | Path) -> TaskConfig:
    return parse_task_config(read_text(path), str(path))
