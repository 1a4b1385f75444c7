"""SubTaskConfig: the part of a task one source runs, every reference resolved.

The master builds one per mysql-instances entry (`TaskConfig.subtask_configs()`)
and stores it as JSON; the worker adds its source's settings with `with_source`
and builds the rule objects from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field

from dm.config.base import BinlogEventRule, ConfigModel, DBConfig
from dm.config.source import SourceConfig
from dm.config.task import (
    DEFAULT_SHADOW_TABLE_RULE,
    DEFAULT_TRASH_TABLE_RULE,
    BARule,
    ColumnMappingRule,
    ExpressionFilter,
    LoaderConfig,
    Meta,
    MydumperConfig,
    MySQLInstance,
    RouteRule,
    SyncerConfig,
    TaskConfig,
    TaskMode,
    TiDBExtraConfig,
    anchored,
)
from dm.rules.balist import BlockAllowList
from dm.rules.column_mapping import ColumnMapping
from dm.rules.onlineddl import ShadowTables
from dm.rules.router import TableRouter


class SubTaskConfig(ConfigModel):
    """One (task, source) pair; round-trips through `model_dump_json`/`model_validate_json`."""

    name: str
    mode: TaskMode
    source_id: str
    shard_mode: Literal["", "pessimistic", "optimistic"] = ""
    strict_optimistic_shard_mode: bool = False
    online_ddl: bool = False
    shadow_table_rules: list[str] = Field(default_factory=lambda: [DEFAULT_SHADOW_TABLE_RULE])
    trash_table_rules: list[str] = Field(default_factory=lambda: [DEFAULT_TRASH_TABLE_RULE])
    case_sensitive: bool = False
    collation_compatible: Literal["loose", "strict"] = "loose"
    ignore_checking_items: list[str] = Field(default_factory=list)
    meta_schema: str = "dm_meta"
    meta: Meta | None = None
    clean_dump_file: bool = True
    to: DBConfig
    routes: dict[str, RouteRule] = Field(default_factory=dict)
    filters: dict[str, BinlogEventRule] = Field(default_factory=dict)
    column_mappings: dict[str, ColumnMappingRule] = Field(default_factory=dict)
    expression_filters: dict[str, ExpressionFilter] = Field(default_factory=dict)
    block_allow_list: BARule | None = None
    mydumper: MydumperConfig = Field(default_factory=MydumperConfig)
    loader: LoaderConfig = Field(default_factory=LoaderConfig)
    syncer: SyncerConfig = Field(default_factory=SyncerConfig)
    tidb: TiDBExtraConfig | None = None
    # set from the source config by the worker (`with_source`)
    from_: DBConfig | None = None
    flavor: Literal["", "mysql", "mariadb"] = ""
    server_id: int = 0
    enable_gtid: bool = False
    auto_fix_gtid: bool = False
    relay_dir: str = ""
    use_relay: bool = False

    def with_source(self, source: SourceConfig, *, use_relay: bool = False) -> SubTaskConfig:
        """This subtask completed with its source (DM's copyConfigFromSource).

        Case sensitivity is the task's OR the source's; the source's event filters
        are added unless a task filter has the same schema/table patterns.
        """
        case_sensitive = self.case_sensitive or source.case_sensitive
        filters = dict(self.filters)
        taken = {rule.pattern_key(case_sensitive) for rule in filters.values()}
        for index, rule in enumerate(source.filters):
            if rule.pattern_key(case_sensitive) not in taken:
                filters[f"source-filter-{index}"] = rule
        return self.model_copy(
            update={
                "from_": source.from_,
                "flavor": source.flavor,
                "server_id": source.server_id,
                "enable_gtid": source.enable_gtid,
                "auto_fix_gtid": source.auto_fix_gtid,
                "relay_dir": source.relay_dir,
                "use_relay": use_relay,
                "case_sensitive": case_sensitive,
                "filters": filters,
            }
        )

    def ba_list(self) -> BlockAllowList:
        return BlockAllowList(self.block_allow_list, case_sensitive=self.case_sensitive)

    def router(self) -> TableRouter:
        return TableRouter(self.routes, case_sensitive=self.case_sensitive,
                           source_id=self.source_id)

    def column_mapping(self) -> ColumnMapping:
        return ColumnMapping(self.column_mappings, case_sensitive=self.case_sensitive)

    def shadow_tables(self) -> ShadowTables | None:
        """The online schema change tools' tables (online-ddl: true), else None."""
        if not self.online_ddl:
            return None
        return ShadowTables(self.shadow_table_rules, self.trash_table_rules)

    def migrated_tables(self) -> Callable[[str, str], bool]:
        """What the task copies and replicates rows of: the block-allow list, without the
        tools' ghost and trash tables under online-ddl."""
        allows = self.ba_list().allows
        shadow = self.shadow_tables()
        return allows if shadow is None else shadow.real_only(allows)

    def masked(self) -> SubTaskConfig:
        """A copy safe to log: passwords replaced by ******."""
        return self.model_copy(
            update={"to": self.to.masked(), "from_": self.from_.masked() if self.from_ else None}
        )


def build_subtask(task: TaskConfig, inst: MySQLInstance) -> SubTaskConfig:
    """The subtask of `inst`, with its rules and effective unit settings."""
    mydumper, loader, syncer = task.units_of(inst)
    suffix = f".{task.name}"
    # as DM: full and all dump into `<dir>.<task>`; dump, load and load&sync take `dir` as
    # it is (the directory a dump task writes is the one a load task reads)
    if task.task_mode in ("full", "all") and not loader.dir.endswith(suffix):
        loader = loader.model_copy(update={"dir": loader.dir + suffix})
    return SubTaskConfig(
        name=task.name,
        mode=task.task_mode,
        source_id=inst.source_id,
        shard_mode=task.shard_mode,
        strict_optimistic_shard_mode=task.strict_optimistic_shard_mode,
        online_ddl=task.online_ddl,
        shadow_table_rules=[anchored(r) for r in task.shadow_table_rules]
        or [DEFAULT_SHADOW_TABLE_RULE],
        trash_table_rules=[anchored(r) for r in task.trash_table_rules]
        or [DEFAULT_TRASH_TABLE_RULE],
        case_sensitive=task.case_sensitive,
        collation_compatible=task.collation_compatible,
        ignore_checking_items=list(task.ignore_checking_items),
        meta_schema=task.meta_schema,
        meta=inst.meta,
        clean_dump_file=task.clean_dump_file,
        to=task.target_database,
        routes={n: task.routes[n] for n in inst.route_rules},
        filters={n: task.filters[n] for n in inst.filter_rules},
        column_mappings={n: task.column_mappings[n] for n in inst.column_mapping_rules},
        expression_filters={n: task.expression_filter[n] for n in inst.expression_filters},
        block_allow_list=task.block_allow_list.get(inst.ba_list_name),
        mydumper=mydumper,
        loader=loader,
        syncer=syncer,
        tidb=task.tidb,
    )
