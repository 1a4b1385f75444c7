"""dm.config.task: task.yaml keys, defaults, DM's cross-checks and how refusals read."""

from datetime import timedelta
from pathlib import Path

import pytest

from dm import errors
from dm.config import TaskConfig, load_task_config, parse_task_config
from dm.config.task import CHECKING_ITEMS

BASE = """\
name: test
task-mode: all
target-database:
  host: 127.0.0.1
  port: 4000
  user: root
  password: ""
mysql-instances:
  - source-id: mysql-replica-01
"""

RICH = """\
name: shop
task-mode: all
shard-mode: optimistic
case-sensitive: true
collation_compatible: strict
meta-schema: dm_meta_shop
ignore-checking-items: [version, auto_increment_ID]
clean-dump-file: false
online-ddl: true
shadow-table-rules: ["^_(.+)_(?:new|gho)$"]
trash-table-rules: ["_(.+)_(?:ghc|del|old)"]
target-database:
  host: tidb
  port: 4000
  user: root
  password: /Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=
  session:
    tidb_txn_mode: pessimistic
mysql-instances:
  - source-id: s1
    meta: {binlog-name: mysql-bin.000001, binlog-pos: 4}
    route-rules: [route-schema, route-table]
    filter-rules: [no-truncate]
    column-mapping-rules: [cm]
    expression-filters: [even]
    block-allow-list: ba
    mydumper-config-name: global
    mydumper-thread: 8
    loader-config-name: global
    loader-thread: 32
    syncer-config-name: global
    syncer-thread: 64
  - source-id: s2
    block-allow-list: ba
    route-rules: [route-schema]
    mydumper: {threads: 2, chunk-filesize: 32MiB}
    loader: {pool-size: 4, dir: /data/dump, import-mode: SQL, on-duplicate: ERROR}
    syncer: {worker-count: 8, safe-mode-duration: 0s, compact: true, multiple-rows: true}
routes:
  route-schema: {schema-pattern: "shop_*", target-schema: shop}
  route-table: {schema-pattern: "shop_*", table-pattern: "order_*", target-schema: shop,
                target-table: orders}
filters:
  no-truncate: {schema-pattern: "shop_*", events: [truncate table], action: Ignore}
column-mappings:
  cm: {schema-pattern: "shop_*", table-pattern: "order_*", source-column: id,
       target-column: id, expression: partition id, arguments: ["1", "shop_", "order_"]}
expression-filter:
  even: {schema: shop_1, table: t, insert-value-expr: "c % 2 = 0"}
block-allow-list:
  ba:
    do-dbs: ["~^shop_\\\\d+$"]
    ignore-tables: [{db-name: "shop_*", tbl-name: log}]
mydumpers:
  global: {threads: 16, chunk-filesize: "128", rows: 10000, extra-args: "--consistency none"}
loaders:
  global: {pool-size: 8}
syncers:
  global: {worker-count: 32, batch: 200, checkpoint-flush-interval: 15, safe-mode: true}
"""


def parse(text: str) -> TaskConfig:
    return parse_task_config(text, "task.yaml")


def parse_all(text: str) -> TaskConfig:
    """Every key parsed, those pydm refuses at start-task too (unsupported.py)."""
    return parse_task_config(text, "task.yaml", accept_unsupported=True)


def test_defaults() -> None:
    cfg = parse(BASE)
    assert cfg.task_mode == "all" and cfg.shard_mode == "" and not cfg.case_sensitive
    assert cfg.meta_schema == "dm_meta" and cfg.collation_compatible == "loose"
    assert cfg.clean_dump_file and not cfg.online_ddl and cfg.ignore_checking_items == []
    assert cfg.routes == cfg.filters == cfg.block_allow_list == {}
    assert cfg.target_database.port == 4000 and cfg.warnings == []
    mydumper, loader, syncer = cfg.units_of(cfg.mysql_instances[0])
    assert (mydumper.threads, mydumper.chunk_filesize, mydumper.rows) == (4, "64", 0)
    assert mydumper.mydumper_path == "./bin/mydumper" and mydumper.skip_tz_utc
    assert (loader.pool_size, loader.dir, loader.import_mode) == (16, "./dumped_data", "logical")
    assert loader.on_duplicate == "replace"
    assert (syncer.worker_count, syncer.batch, syncer.queue_size) == (16, 100, 1024)
    assert syncer.checkpoint_flush_interval == 30 and not syncer.safe_mode
    assert syncer.safe_mode_duration == timedelta(seconds=60)  # 2 x flush interval
    assert not syncer.compact and not syncer.multiple_rows


def test_every_key() -> None:
    cfg = parse_all(RICH)
    assert cfg.shard_mode == "optimistic" and cfg.case_sensitive
    assert cfg.ignore_checking_items == ["version", "auto_increment_ID"]
    assert cfg.target_database.plain_password() == "123456"
    first, second = cfg.mysql_instances
    mydumper, loader, syncer = cfg.units_of(first)
    assert (mydumper.threads, mydumper.rows) == (8, 10000)
    assert mydumper.chunk_filesize_bytes() == 128 << 20
    assert loader.pool_size == 32
    assert (syncer.worker_count, syncer.batch, syncer.safe_mode) == (64, 200, True)
    assert syncer.safe_mode_duration == timedelta(seconds=30)
    mydumper, loader, syncer = cfg.units_of(second)
    assert mydumper.chunk_filesize_bytes() == 32 << 20 and loader.dir == "/data/dump"
    assert loader.on_duplicate == "error" and loader.import_mode == "logical"
    assert syncer.safe_mode_duration == timedelta(0) and syncer.compact
    assert cfg.column_mappings["cm"].arguments == ["1", "shop_", "order_", ""]
    assert cfg.warnings == [
        "task.yaml:21: mysql-instances[0].meta: ignored: only task-mode incremental starts "
        "from meta"
    ]


def test_null_means_default_also_for_alias_choices() -> None:
    cfg = parse(BASE + "    loader: {on-duplicate-logical: null, pool-size: }\n")
    _, loader, _ = cfg.units_of(cfg.mysql_instances[0])
    assert (loader.on_duplicate, loader.pool_size) == ("replace", 16)


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(BASE)
    assert load_task_config(path).name == "test"


def test_deprecated_keys_are_warned_and_adjusted() -> None:
    text = BASE.replace(
        "task-mode: all\n",
        "task-mode: all\nis-sharding: true\nonline-ddl-scheme: gh-ost\nenable-heartbeat: true\n"
        "heartbeat-update-interval: 2\ntimezone: Asia/Shanghai\nremove-meta: true\n",
    ).replace("mysql-replica-01\n", "mysql-replica-01\n    black-white-list: bw\n")
    text += "black-white-list:\n  bw: {do-dbs: [db]}\nsyncers:\n  s: {max-retry: 3}\n"
    text = text.replace("list: bw\n", "list: bw\n    syncer-config-name: s\n")
    cfg = parse_all(text)
    assert cfg.shard_mode == "pessimistic" and cfg.online_ddl
    assert cfg.block_allow_list == cfg.black_white_list
    assert cfg.warnings == [
        "task.yaml:3: is-sharding: deprecated; use shard-mode",
        "task.yaml:4: online-ddl-scheme: deprecated; use online-ddl: true",
        "task.yaml:5: enable-heartbeat: deprecated and ignored",
        "task.yaml:6: heartbeat-update-interval: deprecated and ignored",
        "task.yaml:7: timezone: deprecated and ignored; sessions use +00:00",
        "task.yaml:8: remove-meta: deprecated and ignored; use `start-task --remove-meta`",
        "task.yaml:16: mysql-instances[0].black-white-list: deprecated; use block-allow-list",
        "task.yaml:18: black-white-list: deprecated; use block-allow-list",
        "task.yaml:21: syncers.s.max-retry: deprecated and ignored",
    ]
    assert cfg.subtask_configs()[0].block_allow_list == cfg.black_white_list["bw"]


def test_meta_outside_incremental_is_warned() -> None:
    cfg = parse(BASE + "    meta: {binlog-name: mysql-bin.000002, binlog-pos: 4}\n")
    assert cfg.warnings == [
        "task.yaml:10: mysql-instances[0].meta: ignored: only task-mode incremental starts "
        "from meta"
    ]


def test_incremental_with_gtid_meta() -> None:
    text = BASE.replace("task-mode: all", "task-mode: incremental")
    text += "    meta:\n      binlog-gtid: 3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,0-1-3\n"
    with pytest.raises(errors.DMError):  # mixed MySQL/MariaDB syntax
        parse(text)
    cfg = parse(text.replace(",0-1-3", ""))
    assert cfg.mysql_instances[0].meta is not None


@pytest.mark.parametrize("item", sorted(CHECKING_ITEMS))
def test_every_dm_checking_item_is_accepted(item: str) -> None:
    assert parse(BASE + f"ignore-checking-items: [{item}]\n").ignore_checking_items == [item]


@pytest.mark.parametrize("mode", ["full", "incremental", "all", "dump", "load", "load&sync"])
def test_task_modes(mode: str) -> None:
    text = BASE.replace("task-mode: all", f"task-mode: {mode}")
    if mode == "incremental":
        text += "    meta: {binlog-name: mysql-bin.000001, binlog-pos: 4}\n"
    assert parse_all(text).task_mode == mode


def test_to_yaml_round_trip_keeps_password_encrypted() -> None:
    cfg = parse_all(RICH)
    dumped = cfg.to_yaml()
    assert "123456" not in dumped
    again = parse_task_config(dumped, "dumped.yaml", accept_unsupported=True)
    assert again.model_dump(exclude={"target_database"}) == cfg.model_dump(
        exclude={"target_database"}
    )
    assert again.target_database.plain_password() == "123456"
    assert "password: '******'" in cfg.to_yaml(secrets="mask")


def test_repr_masks_the_password() -> None:
    cfg = parse(BASE.replace('password: ""', "password: hunter2"))
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg)


def test_all_problems_are_reported_together() -> None:
    text = BASE.replace("mysql-replica-01\n", "mysql-replica-01\n    route-rules: [a, b]\n")
    with pytest.raises(errors.DMError) as info:
        parse(text + "routes:\n  c: {schema-pattern: db, target-schema: x}\n")
    assert info.value.code == errors.CONFIG_RULE_NOT_FOUND.code
    assert info.value.message.splitlines() == [
        "task.yaml:10: mysql-instances[0].route-rules[0]: 'a' is not defined under routes",
        "task.yaml:10: mysql-instances[0].route-rules[1]: 'b' is not defined under routes",
        "task.yaml:12: routes.c is defined but no mysql-instances entry uses it",
    ]


def _instance(extra: str) -> str:
    """BASE with `extra` (indented YAML) added to the first mysql-instances entry."""
    return BASE + "".join(f"    {line}\n" for line in extra.splitlines())


E = errors
REFUSALS = [
    # (yaml, code, line, message text after "task.yaml:<line>: ")
    (
        BASE.replace("name: test", "nmae: test"),
        E.CONFIG_YAML,
        1,
        "nmae: unknown key (did you mean 'name'?)",
    ),
    (BASE.replace("name: test\n", ""), E.CONFIG_NEED_TASK_NAME, 1, "name: a task name is required"),
    (BASE.replace("name: test", "name: ''"), E.CONFIG_NEED_TASK_NAME, 1, "name: a task name"),
    (
        BASE.replace("task-mode: all", "task-mode: sync"),
        E.CONFIG_TASK_MODE,
        2,
        "task-mode: 'sync' is not a task mode",
    ),
    (BASE.replace("task-mode: all\n", ""), E.CONFIG_YAML, 1, "task-mode: required key is missing"),
    (
        BASE.split("target-database")[0] + "mysql-instances:\n  - source-id: s\n",
        E.CONFIG_NEED_TARGET_DB,
        1,
        "target-database: the target database is required",
    ),
    (
        BASE.replace("port: 4000", "port: four"),
        E.CONFIG_YAML,
        5,
        "target-database.port: Input should be a valid integer, unable to parse string as an "
        "integer, got 'four'",
    ),
    (
        BASE.replace("  host: 127.0.0.1\n", ""),
        E.CONFIG_YAML,
        3,
        "target-database.host: required key is missing",
    ),
    (
        BASE.split("mysql-instances")[0] + "mysql-instances: []\n",
        E.CONFIG_NO_INSTANCES,
        8,
        "mysql-instances: at least one mysql-instances entry is required",
    ),
    (
        BASE.split("mysql-instances")[0] + "mysql-instances: s1\n",
        E.CONFIG_YAML,
        8,
        "mysql-instances: Input should be a valid list",
    ),
    (
        BASE.replace("source-id: mysql-replica-01", "source-id: ''"),
        E.CONFIG_EMPTY_SOURCE_ID,
        9,
        "mysql-instances[0].source-id: must not be empty",
    ),
    (
        BASE + "  - source-id: mysql-replica-01\n",
        E.CONFIG_DUP_SOURCE_ID,
        10,
        "mysql-instances[1].source-id: source-id 'mysql-replica-01' is already used by "
        "mysql-instances[0]",
    ),
    (
        _instance("route-rules: [nope]"),
        E.CONFIG_RULE_NOT_FOUND,
        10,
        "mysql-instances[0].route-rules[0]: 'nope' is not defined under routes",
    ),
    (
        _instance("filter-rules: [nope]"),
        E.CONFIG_REF_NOT_FOUND["filters"],
        10,
        "mysql-instances[0].filter-rules[0]: 'nope' is not defined under filters",
    ),
    (
        _instance("column-mapping-rules: [nope]"),
        E.CONFIG_REF_NOT_FOUND["column-mappings"],
        10,
        "mysql-instances[0].column-mapping-rules[0]: 'nope' is not defined under column-mappings",
    ),
    (
        _instance("expression-filters: [nope]"),
        E.CONFIG_REF_NOT_FOUND["expression-filter"],
        10,
        "mysql-instances[0].expression-filters[0]: 'nope' is not defined under expression-filter",
    ),
    (
        _instance("block-allow-list: nope"),
        E.CONFIG_REF_NOT_FOUND["block-allow-list"],
        10,
        "mysql-instances[0].block-allow-list: 'nope' is not defined under block-allow-list",
    ),
    (
        _instance("black-white-list: nope"),
        E.CONFIG_REF_NOT_FOUND["block-allow-list"],
        10,
        "mysql-instances[0].black-white-list: 'nope' is not defined under block-allow-list",
    ),
    (
        _instance("mydumper-config-name: nope"),
        E.CONFIG_REF_NOT_FOUND["mydumpers"],
        10,
        "mysql-instances[0].mydumper-config-name: 'nope' is not defined under mydumpers",
    ),
    (
        _instance("loader-config-name: nope"),
        E.CONFIG_REF_NOT_FOUND["loaders"],
        10,
        "mysql-instances[0].loader-config-name: 'nope' is not defined under loaders",
    ),
    (
        _instance("syncer-config-name: nope"),
        E.CONFIG_REF_NOT_FOUND["syncers"],
        10,
        "mysql-instances[0].syncer-config-name: 'nope' is not defined under syncers",
    ),
    (
        _instance("mydumper-config-name: g\nmydumper: {threads: 1}")
        + "mydumpers:\n  g: {threads: 2}\n",
        E.CONFIG_UNIT_CONFLICT["mydumper"],
        11,
        "mysql-instances[0].mydumper: set either mydumper-config-name or mydumper, not both",
    ),
    (
        _instance("loader-config-name: g\nloader: {}") + "loaders:\n  g: {}\n",
        E.CONFIG_UNIT_CONFLICT["loader"],
        11,
        "mysql-instances[0].loader: set either loader-config-name or loader",
    ),
    (
        _instance("syncer-config-name: g\nsyncer: {}") + "syncers:\n  g: {}\n",
        E.CONFIG_UNIT_CONFLICT["syncer"],
        11,
        "mysql-instances[0].syncer: set either syncer-config-name or syncer",
    ),
    (
        _instance("route-rules: [r, r]") + "routes:\n  r: {schema-pattern: db, target-schema: x}\n",
        E.CONFIG_DUPLICATE_ITEM,
        10,
        "mysql-instances[0].route-rules[1]: 'r' is listed more than once",
    ),
    (
        BASE + "routes:\n  r: {schema-pattern: db, target-schema: x}\n",
        E.CONFIG_GLOBAL_UNUSED,
        11,
        "routes.r is defined but no mysql-instances entry uses it",
    ),
    (
        BASE + "syncers:\n  s: {}\n",
        E.CONFIG_GLOBAL_UNUSED,
        11,
        "syncers.s is defined but no mysql-instances entry uses it",
    ),
    (
        BASE.replace("task-mode: all", "task-mode: incremental"),
        E.CONFIG_META_NOT_SET,
        9,
        "mysql-instances[0]: meta is required for task-mode incremental",
    ),
    (
        _instance("meta: {binlog-pos: 4}"),
        E.CONFIG_META_INVALID,
        10,
        "mysql-instances[0].meta: meta needs binlog-name (position mode) or binlog-gtid",
    ),
    (
        _instance("meta: {binlog-name: mysql-bin}"),
        E.CONFIG_YAML,
        10,
        "mysql-instances[0].meta.binlog-name: 'mysql-bin' is not a binlog file name",
    ),
    (BASE + "shard-mode: eager\n", E.CONFIG_SHARD_MODE, 10, "shard-mode: 'eager' is not supported"),
    (
        BASE + "shard-mode: pessimistic\nstrict-optimistic-shard-mode: true\n",
        E.CONFIG_STRICT_OPTIMISTIC,
        11,
        "strict-optimistic-shard-mode: strict-optimistic-shard-mode is set while shard-mode "
        "is not optimistic",
    ),
    (
        BASE + "ignore-checking-items: [all, versions]\n",
        E.CONFIG_CHECKING_ITEM,
        10,
        "ignore-checking-items[1]: unknown checking item 'versions'; "
        "known items: all, dump_privilege",
    ),
    (
        BASE + "online-ddl-scheme: lhm\n",
        E.CONFIG_ONLINE_SCHEME,
        10,
        "online-ddl-scheme: 'lhm' is not supported",
    ),
    (
        BASE + "collation_compatible: exact\n",
        E.CONFIG_COLLATION,
        10,
        "collation_compatible: 'exact' is not supported",
    ),
    (
        BASE + "shadow-table-rules: ['_(.+)_(new)']\n",
        E.CONFIG_ONLINE_DDL_REGEX,
        10,
        "shadow-table-rules[0]: '_(.+)_(new)' has 2 groups instead of one",
    ),
    (
        BASE + "trash-table-rules: ['(']\n",
        E.CONFIG_ONLINE_DDL_REGEX,
        10,
        "trash-table-rules[0]: bad regular expression",
    ),
    (
        _instance("mydumper: {chunk-filesize: big}"),
        E.CONFIG_CHUNK_FILESIZE,
        10,
        "mysql-instances[0].mydumper.chunk-filesize: 'big' is not a size",
    ),
    (
        _instance("mydumper: {mydumper-path: ''}"),
        E.CONFIG_MYDUMPER_PATH,
        10,
        "mysql-instances[0].mydumper: mydumper-path must not be empty when the task dumps",
    ),
    (
        _instance("loader: {import-mode: physical}"),
        E.CONFIG_LOAD_MODE,
        10,
        "mysql-instances[0].loader.import-mode: physical import needs TiDB Lightning",
    ),
    (
        _instance("loader: {on-duplicate-logical: skip}"),
        E.CONFIG_ON_DUPLICATE,
        10,
        "mysql-instances[0].loader.on-duplicate-logical: 'skip' is not supported",
    ),
    (
        _instance("syncer: {safe-mode-duration: 10}"),
        E.CONFIG_SAFE_MODE_DURATION,
        10,
        "mysql-instances[0].syncer.safe-mode-duration: '10' is not a duration",
    ),
    (
        _instance("syncer: {safe-mode: true, safe-mode-duration: 0s}"),
        E.CONFIG_SAFE_MODE_CONFLICT,
        10,
        "mysql-instances[0].syncer: safe-mode: true conflicts with safe-mode-duration 0s",
    ),
    (
        _instance("syncer: {worker-count: -1}"),
        E.CONFIG_YAML,
        10,
        "mysql-instances[0].syncer.worker-count: Input should be greater than or equal to 0",
    ),
    (
        _instance("route-rules: [r]") + "routes:\n  r: {schema-pattern: 'a*b', target-schema: x}\n",
        E.CONFIG_TABLE_ROUTER,
        12,
        "routes.r.schema-pattern: pattern 'a*b': '*' may only be the last",
    ),
    (
        _instance("route-rules: [r]") + "routes:\n  r: {schema-pattern: db, target-schema: ''}\n",
        E.CONFIG_TABLE_ROUTER,
        12,
        "routes.r.target-schema: target-schema must not be empty",
    ),
    (
        _instance("route-rules: [a, b]") + "routes:\n  a: {schema-pattern: db, target-schema: x}\n"
        "  b: {schema-pattern: DB, target-schema: y}\n",
        E.CONFIG_TABLE_ROUTER,
        10,
        "mysql-instances[0].route-rules: routes.b: "
        "same schema-pattern and table-pattern as rule 'a'",
    ),
    (
        _instance("block-allow-list: b") + "block-allow-list:\n  b: {do-dbs: ['~(']}\n",
        E.CONFIG_BA_LIST,
        12,
        "block-allow-list.b.do-dbs[0]: regular expression '('",
    ),
    (
        _instance("block-allow-list: b") + "block-allow-list:\n  b:\n    do-tables:\n"
        "      - {db-name: db, tbl-name: ''}\n",
        E.CONFIG_BA_LIST,
        14,
        "block-allow-list.b.do-tables[0].tbl-name: must not be empty",
    ),
    (
        _instance("filter-rules: [f]") + "filters:\n  f: {schema-pattern: db, events: [merge], "
        "action: Do}\n",
        E.CONFIG_EVENT_FILTER,
        12,
        "filters.f.events: unknown event type 'merge'",
    ),
    (
        _instance("filter-rules: [f, g]") + "filters:\n  f: {schema-pattern: db, action: Do}\n"
        "  g: {schema-pattern: db, action: Ignore}\n",
        E.CONFIG_EVENT_FILTER,
        10,
        "mysql-instances[0].filter-rules[1]: filters 'f' and 'g' have the same schema-pattern",
    ),
    (
        _instance("column-mapping-rules: [c]") + "column-mappings:\n  c: {schema-pattern: db, "
        "target-column: id, expression: add prefix, arguments: []}\n",
        E.CONFIG_COLUMN_MAPPING,
        12,
        "column-mappings.c: 'add prefix' takes 1 arguments, got 0",
    ),
    (
        _instance("column-mapping-rules: [c]") + "column-mappings:\n  c: {schema-pattern: db, "
        "target-column: id, expression: hash}\n",
        E.CONFIG_YAML,
        12,
        "column-mappings.c.expression: "
        "Input should be 'add prefix', 'add suffix' or 'partition id'",
    ),
    (
        _instance("expression-filters: [e]") + "expression-filter:\n  e: {table: t, "
        "insert-value-expr: a > 1}\n",
        E.CONFIG_EXPR_EMPTY,
        12,
        "expression-filter.e.schema: must not be empty",
    ),
    (
        _instance("expression-filters: [e]") + "expression-filter:\n  e: {schema: s, table: t, "
        "insert-value-expr: a > 1, delete-value-expr: a < 1}\n",
        E.CONFIG_EXPR_MANY,
        12,
        "expression-filter.e: sets delete and insert; an expression filter takes one of",
    ),
    (
        _instance("expression-filters: [e]")
        + "expression-filter:\n  e:\n    schema: s\n    table: t\n"
        "    update-new-value-expr: a >\n",
        E.CONFIG_EXPR_GRAMMAR,
        15,
        "expression-filter.e.update-new-value-expr: 'a >' is not a SQL expression",
    ),
    (  # sqlglot's tokenizer error, caught by the filter's own parse
        _instance("expression-filters: [e]")
        + "expression-filter:\n  e:\n    schema: s\n    table: t\n"
        "    insert-value-expr: \"c = 'abc\"\n",
        E.CONFIG_EXPR_GRAMMAR,
        15,
        "expression-filter.e.insert-value-expr: \"c = 'abc\" is not a SQL expression",
    ),
    (  # an arity the filter would refuse at run time is refused at check time
        _instance("expression-filters: [e]")
        + "expression-filter:\n  e:\n    schema: s\n    table: t\n"
        "    insert-value-expr: \"abs(a, b) > 1\"\n",
        E.CONFIG_EXPR_GRAMMAR,
        15,
        "expression-filter.e.insert-value-expr: 'abs(a, b) > 1' is not a SQL expression",
    ),
    (
        BASE + "tidb: {backend: local}\n",
        E.CONFIG_YAML,
        10,
        "tidb.backend: Input should be '' or 'tidb'",
    ),
    (
        BASE + "mysql-instances: []\n",
        E.CONFIG_YAML,
        10,
        "mysql-instances: duplicate key (first set at line 8)",
    ),
    (BASE + "routes: {r: [\n", E.CONFIG_YAML, 11, "invalid YAML"),
    (BASE + "validators: {}\n", E.CONFIG_YAML, 10, "validators: unknown key"),
]


@pytest.mark.parametrize(("text", "spec", "line", "detail"), REFUSALS)
def test_refusals(text: str, spec: errors.ErrorCode, line: int, detail: str) -> None:
    with pytest.raises(errors.DMError) as info:
        parse(text)
    err = info.value
    assert err.code == spec.code, err.message
    assert err.message.startswith(f"task.yaml:{line}: {detail}"), err.message
    shown = str(err)
    assert shown.startswith(f"[code={spec.code}:class=config:")
    assert "Traceback" not in shown and "pydantic" not in shown
