"""The OpenAPI's shapes against pydm's configs: a posted task or source becomes the
task.yaml or source.yaml a dmctl user would write (then parsed by the same parser), a
stored task is shown back in the API's shape, worker statuses map to the API's, and the
document is valid OpenAPI 3.0 with every operation."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from dm import errors
from dm.config.source import parse_source_config
from dm.config.task import parse_task_config
from dm.master.openapi import convert, models
from dm.master.openapi.document import OPERATIONS, document
from dm.master.openapi.status import subtask_status


def _task(**changes: Any) -> models.Task:
    doc: dict[str, Any] = {
        "name": "shop", "task_mode": "all", "shard_mode": "pessimistic",
        "enhance_online_schema_change": True, "on_duplicate": "error",
        "target_config": {"host": "10.0.0.9", "port": 4000, "user": "dm", "password": "pw",
                          "security": {"ssl_ca_content": "CA", "ssl_cert_content": "CERT",
                                       "ssl_key_content": "KEY",
                                       "cert_allowed_cn": ["tidb"]}},
        "binlog_filter_rule": {"no-drop": {"ignore_event": ["drop table"],
                                           "ignore_sql": ["^DROP"]}},
        "table_migrate_rule": [
            {"source": {"source_name": "s1", "schema": "shop_*", "table": "order_*"},
             "target": {"schema": "shop", "table": "orders"},
             "binlog_filter_rule": ["no-drop"]},
            {"source": {"source_name": "s1", "schema": "shop_1", "table": "users"}},
            {"source": {"source_name": "s2", "schema": "shop_*", "table": "order_*"},
             "target": {"schema": "shop", "table": "orders"}}],
        "source_config": {
            "full_migrate_conf": {"export_threads": 8, "import_threads": 6,
                                  "data_dir": "/data/dump", "consistency": "flush"},
            "incr_migrate_conf": {"repl_threads": 4, "repl_batch": 500},
            "source_conf": [{"source_name": "s1", "binlog_name": "mysql-bin.000003",
                             "binlog_pos": 4},
                            {"source_name": "s2", "binlog_gtid": "0-1-5"}]}}
    doc.update(changes)
    return models.Task.model_validate(doc)


def test_a_posted_task_becomes_the_task_yaml_a_user_would_write() -> None:
    cfg = parse_task_config(convert.task_yaml(_task()), "api")
    assert (cfg.name, cfg.task_mode, cfg.online_ddl) == ("shop", "all", True)
    assert cfg.target_database.port == 4000 and cfg.target_database.security is not None
    assert cfg.target_database.security.ssl_ca_bytes == "CA"
    assert cfg.target_database.security.cert_allowed_cn == ["tidb"]
    s1, s2 = cfg.subtask_configs()
    assert s1.shard_mode == "pessimistic"
    assert s1.meta is not None and (s1.meta.binlog_name, s1.meta.binlog_pos) == (
        "mysql-bin.000003", 4)
    assert s2.meta is not None and s2.meta.binlog_gtid == "0-1-5"
    assert s1.block_allow_list is not None
    assert [(t.db_name, t.tbl_name) for t in s1.block_allow_list.do_tables] == [
        ("shop_*", "order_*"), ("shop_1", "users")]
    assert [(r.schema_pattern, r.table_pattern, r.target_schema, r.target_table)
            for r in s1.routes.values()] == [("shop_*", "order_*", "shop", "orders")]
    (rule,) = s1.filters.values()
    assert (rule.schema_pattern, rule.table_pattern, rule.events, rule.sql_pattern,
            rule.action) == ("shop_*", "order_*", ["drop table"], ["^DROP"], "Ignore")
    assert not s2.filters and len(s2.routes) == 1
    assert (s1.mydumper.threads, s1.loader.pool_size, s1.syncer.worker_count,
            s1.syncer.batch, s1.loader.on_duplicate) == (8, 6, 4, 500, "error")
    assert s1.loader.dir.startswith("/data/dump") and "flush" in s1.mydumper.extra_args


def test_the_api_defaults_are_dms() -> None:
    task = _task(source_config={"source_conf": [{"source_name": "s1"}]},
                 table_migrate_rule=[], binlog_filter_rule=None, on_duplicate="overwrite")
    (sub,) = parse_task_config(convert.task_yaml(task), "api").subtask_configs()
    assert (sub.mydumper.threads, sub.loader.pool_size, sub.syncer.worker_count,
            sub.syncer.batch, sub.loader.on_duplicate) == (4, 16, 16, 100, "replace")
    assert sub.block_allow_list is None and sub.meta is None
    assert sub.strict_optimistic_shard_mode is False  # DM's default: shards wait


def test_strict_optimistic_shard_mode_goes_through_the_api_both_ways() -> None:
    task = _task(shard_mode="optimistic", strict_optimistic_shard_mode=True)
    cfg = parse_task_config(convert.task_yaml(task), "api")
    assert all(s.strict_optimistic_shard_mode for s in cfg.subtask_configs())
    assert convert.task_model(cfg, {"s1", "s2"}).strict_optimistic_shard_mode is True


@pytest.mark.parametrize(("changes", "named"), [
    ({"table_migrate_rule": [{"source": {"source_name": "s9", "schema": "a", "table": "b"}}]},
     "table_migrate_rule[0].source.source_name 's9'"),
    ({"table_migrate_rule": [{"source": {"source_name": "s1", "schema": "a", "table": "b"},
                              "binlog_filter_rule": ["gone"]}]},
     "table_migrate_rule[0].binlog_filter_rule[0] names 'gone'"),
])
def test_a_rule_naming_what_does_not_exist_is_refused(changes: dict[str, Any],
                                                      named: str) -> None:
    with pytest.raises(errors.DMError) as info:
        convert.task_yaml(_task(**changes))
    assert info.value.code == errors.OPENAPI_COMMON.code and named in info.value.message


def test_what_the_task_parser_refuses_is_refused_through_the_api_too() -> None:
    task = _task(target_config={"host": "db", "port": 70000, "user": "u", "password": ""})
    with pytest.raises(errors.DMError) as info:
        parse_task_config(convert.task_yaml(task), "api")
    assert "target-database.port" in info.value.message  # DM's key, as dmctl names it


@pytest.mark.parametrize(("shape", "body", "named"), [
    (models.TaskFullMigrateConf, {"consistency": "snapshot"}, "consistency"),
    (models.Source, {"source_name": "s", "host": "h", "port": "3306", "user": "u",
                     "password": ""}, "port"),
    (models.Source, {"source_name": "s", "host": "h", "port": 3306, "user": "u",
                     "password": "", "enable_gtid": "yes"}, "enable_gtid"),
])
def test_bodies_are_checked_strictly(shape: type[models.Body], body: dict[str, Any],
                                     named: str) -> None:
    with pytest.raises(ValidationError) as info:
        shape.model_validate(body)
    assert info.value.errors()[0]["loc"] == (named,)


def test_posted_tls_material_is_never_shown_back() -> None:
    secret = {"ssl_ca_content": "CA", "ssl_cert_content": "CERT", "ssl_key_content": "KEY",
              "cert_allowed_cn": ["dm"]}
    task = convert.shown_task(_task())
    assert task.target_config.password == "******"
    assert task.target_config.security == models.Security(cert_allowed_cn=["tidb"])
    source = convert.shown_source(models.Source.model_validate({
        "source_name": "s1", "host": "db1", "port": 3307, "user": "dm", "password": "pw",
        "security": secret}))
    assert source.password == "******"
    assert source.security == models.Security(cert_allowed_cn=["dm"])


def test_a_task_is_shown_with_the_sources_it_runs_on() -> None:
    shown = convert.running_part(_task(), {"s2"})
    assert [c.source_name for c in shown.source_config.source_conf] == ["s2"]
    assert [r.source.source_name for r in shown.table_migrate_rule] == ["s2"]


def test_a_posted_source_becomes_its_source_yaml() -> None:
    source = models.Source.model_validate({
        "source_name": "s1", "host": "db1", "port": 3307, "user": "dm", "password": "pw",
        "enable_gtid": True, "security": {"ssl_ca_content": "CA", "ssl_cert_content": "",
                                          "ssl_key_content": ""},
        "purge": {"interval": 60, "expires": 24, "remain_space": 5}})
    cfg = parse_source_config(convert.source_yaml(source), "api")
    assert (cfg.source_id, cfg.enable_gtid, cfg.from_.host, cfg.from_.port) == (
        "s1", True, "db1", 3307)
    assert cfg.from_.security is not None and cfg.from_.security.ssl_ca_bytes == "CA"
    assert (cfg.purge.interval, cfg.purge.expires, cfg.purge.remain_space) == (60, 24, 5)
    shown = convert.source_model(cfg)
    assert shown.password == "******" and shown.security is not None
    assert shown.security.ssl_ca_content == ""  # keys and certificates are never shown


TASK_YAML = """\
name: legacy
task-mode: incremental
target-database: {host: 127.0.0.1, port: 4000, user: root, password: secret}
routes:
  merge: {schema-pattern: "db_*", table-pattern: "t_*", target-schema: db, target-table: t}
filters:
  no-truncate: {schema-pattern: "db_*", table-pattern: "t_*", events: [truncate table],
                action: Ignore}
  only-insert: {schema-pattern: "x", events: [insert], action: Do}
block-allow-list:
  ba: {do-dbs: ["db_*", logs], do-tables: [{db-name: "db_*", tbl-name: "t_*"},
                                           {db-name: "db_1", tbl-name: extra}]}
mydumpers:
  global: {extra-args: "--consistency flush"}
loaders:
  global: {dir: /dump}
mysql-instances:
  - source-id: s1
    mydumper-config-name: global
    loader-config-name: global
    route-rules: [merge]
    filter-rules: [no-truncate, only-insert]
    block-allow-list: ba
    meta: {binlog-name: mysql-bin.000002, binlog-pos: 120}
"""


def test_a_task_from_task_yaml_is_shown_in_the_api_shape() -> None:
    shown = convert.task_model(parse_task_config(TASK_YAML, "task.yaml"), {"s1"})
    assert (shown.name, shown.task_mode, shown.target_config.password) == (
        "legacy", "incremental", "******")
    assert [(r.source.schema_, r.source.table,
             (r.target.schema_, r.target.table) if r.target else None, r.binlog_filter_rule)
            for r in shown.table_migrate_rule] == [
        ("db_*", "t_*", ("db", "t"), ["no-truncate"]), ("db_1", "extra", None, None),
        ("logs", "*", None, None)]
    assert shown.binlog_filter_rule is not None and list(shown.binlog_filter_rule) == [
        "no-truncate"]  # a Do rule has no place in the shape
    (conf,) = shown.source_config.source_conf
    assert (conf.binlog_name, conf.binlog_pos) == ("mysql-bin.000002", 120)
    full = shown.source_config.full_migrate_conf
    assert full is not None and (full.data_dir, full.consistency) == ("/dump", "flush")
    models.Task.model_validate(shown.model_dump(by_alias=True))  # a valid API body again


def test_worker_status_in_the_api_shape() -> None:
    failure = errors.SYNC_DDL_EXEC("Duplicate entry", sql="ALTER TABLE a.b ADD UNIQUE (c)",
                                   where="(mysql-bin.000001, 900)")
    shown = subtask_status("t", "s1", "w1", {
        "name": "t", "stage": "Paused", "unit": "Sync", "unresolvedDDLLockID": "",
        "result": {"isCanceled": False, "errors": [failure.to_process_error()]},
        "load": {"finishedBytes": 10, "totalBytes": 10, "progress": "100.00 %",
                 "metaBinlog": "(mysql-bin.000001, 4)", "metaBinlogGTID": ""},
        "sync": {"totalEvents": 7, "totalTps": 1, "recentTps": 0, "masterBinlog": "(b, 9)",
                 "masterBinlogGtid": "", "syncerBinlog": "(b, 8)", "syncerBinlogGtid": "",
                 "blockingDDLs": [], "synced": False, "binlogType": "remote",
                 "secondsBehindMaster": "3",
                 "unresolvedGroups": [{"target": "`a`.`b`", "DDLs": ["X"],
                                       "firstLocation": "(b, 5)", "synced": ["`a`.`c`"],
                                       "unsynced": []}]}})
    assert (shown.stage, shown.unit, shown.unresolved_ddl_lock_id) == ("Paused", "Sync", None)
    (err,) = shown.errors
    assert err.error_code == 36013 and "binlog skip" in err.workaround
    assert shown.error_msg is not None and "code=36013" in shown.error_msg
    assert shown.sync_status is not None and shown.sync_status.seconds_behind_master == 3
    assert shown.sync_status.unresolved_groups[0].ddl_list == ["X"]
    assert shown.load_status is not None and shown.load_status.progress == "100.00 %"


def test_the_document_is_valid_openapi_with_every_operation() -> None:
    doc = document()
    validate(doc)
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids)) == 26  # DM's v1 operations, the docs ones aside
    for op in OPERATIONS:
        entry = doc["paths"][op.path][op.method.lower()]
        assert set(entry["responses"]) == {str(op.status), "307", "400"}
    task = doc["components"]["schemas"]["Task"]
    assert task["properties"]["shard_mode"]["nullable"] is True
    def no_null_type(node: Any) -> bool:  # OpenAPI 3.0 has `nullable`, no "null" type
        if isinstance(node, dict):
            return node.get("type") != "null" and all(no_null_type(v) for v in node.values())
        return all(no_null_type(v) for v in node) if isinstance(node, list) else True

    assert no_null_type(doc)
