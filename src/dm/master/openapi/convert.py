"""Between the OpenAPI's shapes and pydm's configs.

A source or task posted to the API becomes the source.yaml or task.yaml a dmctl user
would write (`source_yaml`, `task_yaml`), so it goes through the same checks, refusals
and start as `operate-source create` and `start-task`; errors name DM's keys. The other
way, `source_model` and `task_model` show stored configs in the API's shape.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml

from dm import errors
from dm.config.base import MASK, DBConfig
from dm.config.base import Security as DBSecurity
from dm.config.extraargs import parse_extra_args
from dm.config.source import SourceConfig
from dm.config.task import TaskConfig
from dm.master.openapi import models

# the API's on_duplicate: what the loader does with a row whose key is already there
_ON_DUPLICATE: dict[str, str] = {"overwrite": "replace", "error": "error"}
_SHOWN_DUPLICATE: dict[str, Literal["overwrite", "error"]] = {"replace": "overwrite",
                                                               "error": "error"}


def _security_doc(sec: models.Security | None) -> dict[str, Any] | None:
    if sec is None:
        return None
    doc: dict[str, Any] = {"ssl-ca-bytes": sec.ssl_ca_content,
                           "ssl-cert-bytes": sec.ssl_cert_content,
                           "ssl-key-bytes": sec.ssl_key_content}
    if sec.cert_allowed_cn:
        doc["cert-allowed-cn"] = sec.cert_allowed_cn
    return doc


def _db_doc(host: str, port: int, user: str, password: str,
            sec: models.Security | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"host": host, "port": port, "user": user, "password": password}
    security = _security_doc(sec)
    if security is not None:
        doc["security"] = security
    return doc


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def source_yaml(source: models.Source) -> str:
    doc: dict[str, Any] = {
        "source-id": source.source_name, "enable-gtid": source.enable_gtid,
        "from": _db_doc(source.host, source.port, source.user, source.password,
                        source.security)}
    if source.purge is not None:
        doc["purge"] = {key.replace("_", "-"): value
                        for key, value in source.purge.model_dump(exclude_none=True).items()}
    return _dump(doc)


def task_yaml(task: models.Task) -> str:
    """The task.yaml of an API task: its table rules become each source's block-allow
    list (the rules' tables), routes (rules with a target) and event filters (the named
    binlog_filter_rule entries, on the rule's tables)."""
    known = {conf.source_name for conf in task.source_config.source_conf}
    for i, rule in enumerate(task.table_migrate_rule):
        if rule.source.source_name not in known:
            raise errors.OPENAPI_COMMON(detail=(
                f"table_migrate_rule[{i}].source.source_name {rule.source.source_name!r} is "
                f"not in source_config.source_conf; add it there"))
    filters = task.binlog_filter_rule or {}
    doc: dict[str, Any] = {
        "name": task.name, "task-mode": task.task_mode,
        "meta-schema": task.meta_schema or "dm_meta",
        "online-ddl": task.enhance_online_schema_change,
        "target-database": _db_doc(task.target_config.host, task.target_config.port,
                                   task.target_config.user, task.target_config.password,
                                   task.target_config.security)}
    if task.shard_mode:
        doc["shard-mode"] = task.shard_mode
    if task.strict_optimistic_shard_mode is not None:
        doc["strict-optimistic-shard-mode"] = task.strict_optimistic_shard_mode
    full = task.source_config.full_migrate_conf or models.TaskFullMigrateConf()
    incr = task.source_config.incr_migrate_conf or models.TaskIncrMigrateConf()
    mydumper: dict[str, Any] = {"threads": 4 if full.export_threads is None
                                else full.export_threads}
    if full.consistency:
        mydumper["extra-args"] = f"--consistency {full.consistency}"
    loader: dict[str, Any] = {"pool-size": 16 if full.import_threads is None
                              else full.import_threads,
                              "on-duplicate": _ON_DUPLICATE[task.on_duplicate]}
    if full.data_dir:
        loader["dir"] = full.data_dir
    doc["mydumpers"] = {"api": mydumper}
    doc["loaders"] = {"api": loader}
    doc["syncers"] = {"api": {"worker-count": 16 if incr.repl_threads is None
                              else incr.repl_threads,
                              "batch": 100 if incr.repl_batch is None else incr.repl_batch}}
    ba_lists: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    event_filters: dict[str, Any] = {}
    instances = []
    for conf in task.source_config.source_conf:
        rules = [(i, r) for i, r in enumerate(task.table_migrate_rule)
                 if r.source.source_name == conf.source_name]
        instance: dict[str, Any] = {"source-id": conf.source_name,
                                    "mydumper-config-name": "api",
                                    "loader-config-name": "api",
                                    "syncer-config-name": "api"}
        meta = {key: value for key, value in (("binlog-name", conf.binlog_name),
                                              ("binlog-pos", conf.binlog_pos),
                                              ("binlog-gtid", conf.binlog_gtid))
                if value is not None}
        if meta:
            instance["meta"] = meta
        if rules:
            name = f"{conf.source_name}-ba"
            ba_lists[name] = {
                "do-dbs": list(dict.fromkeys(r.source.schema_ for _, r in rules)),
                "do-tables": [{"db-name": r.source.schema_, "tbl-name": r.source.table}
                              for _, r in rules]}
            instance["block-allow-list"] = name
        for i, rule in rules:
            if rule.target is not None:
                name = f"{conf.source_name}-route-{i}"
                routes[name] = {"schema-pattern": rule.source.schema_,
                                "table-pattern": rule.source.table,
                                "target-schema": rule.target.schema_,
                                "target-table": rule.target.table}
                instance.setdefault("route-rules", []).append(name)
            for j, filter_name in enumerate(rule.binlog_filter_rule or []):
                if filter_name not in filters:
                    raise errors.OPENAPI_COMMON(detail=(
                        f"table_migrate_rule[{i}].binlog_filter_rule[{j}] names "
                        f"{filter_name!r}, which binlog_filter_rule does not define"))
                template = filters[filter_name]
                name = f"{conf.source_name}-filter-{i}-{filter_name}"
                event_filters[name] = {"schema-pattern": rule.source.schema_,
                                       "table-pattern": rule.source.table,
                                       "events": template.ignore_event or [],
                                       "sql-pattern": template.ignore_sql or [],
                                       "action": "Ignore"}
                instance.setdefault("filter-rules", []).append(name)
        instances.append(instance)
    doc.update({"block-allow-list": ba_lists, "routes": routes, "filters": event_filters,
                "mysql-instances": instances})
    return _dump(doc)


def _shown_security(db: DBConfig) -> models.Security | None:
    """As DM shows a stored link's TLS: its allowed common names only, never the keys."""
    sec: DBSecurity | None = db.security
    if sec is None:
        return None
    return models.Security(cert_allowed_cn=list(sec.cert_allowed_cn) or None)


def _dump_dir(loader_dir: str, task: str) -> str:
    """`loaders.dir` as the user wrote it (the subtask's has `.<task>` appended, as DM)."""
    suffix = f".{task}"
    return loader_dir[:-len(suffix)] if loader_dir.endswith(suffix) else loader_dir


def source_model(cfg: SourceConfig,
                 status: list[models.SourceStatus] | None = None) -> models.Source:
    return models.Source(
        source_name=cfg.source_id, host=cfg.from_.host, port=cfg.from_.port,
        user=cfg.from_.user, password=MASK, enable_gtid=cfg.enable_gtid,
        security=_shown_security(cfg.from_),
        purge=models.Purge(interval=cfg.purge.interval, expires=cfg.purge.expires,
                           remain_space=cfg.purge.remain_space),
        status_list=status)


def _hidden(sec: models.Security | None) -> models.Security | None:
    """Posted TLS material as the API shows it back: the allowed names only."""
    return None if sec is None else models.Security(cert_allowed_cn=sec.cert_allowed_cn)


def shown_source(source: models.Source) -> models.Source:
    """A posted source as the API shows it back: no password, keys or certificates."""
    return source.model_copy(update={"password": MASK, "security": _hidden(source.security),
                                     "status_list": None})


def shown_task(task: models.Task) -> models.Task:
    """A posted task as the API shows it back: no password, keys or certificates."""
    target = task.target_config.model_copy(update={
        "password": MASK, "security": _hidden(task.target_config.security)})
    return task.model_copy(update={"target_config": target})


def running_part(task: models.Task, sources: set[str]) -> models.Task:
    """A posted task shown with only the sources it runs on now (`source_name_list` at
    start, or a stop of some of them)."""
    conf = task.source_config
    return task.model_copy(update={
        "table_migrate_rule": [r for r in task.table_migrate_rule
                               if r.source.source_name in sources],
        "source_config": conf.model_copy(update={"source_conf": [
            c for c in conf.source_conf if c.source_name in sources]})})


_CONSISTENCIES: dict[str, Literal["none", "flush", "lock"]] = {
    "none": "none", "flush": "flush", "lock": "lock"}


def _consistency(extra_args: str) -> Literal["none", "flush", "lock"] | None:
    """The dump's `--consistency` when not DM's default `auto`."""
    return _CONSISTENCIES.get(parse_extra_args(extra_args).consistency)


def task_model(task: TaskConfig, sources: set[str]) -> models.Task:
    """A task started from task.yaml in the API's shape: each source's routes, then the
    tables and databases of its block-allow list that no route names, as table rules;
    its Ignore event filters as binlog_filter_rule entries on the rules with the same
    tables. Column mappings, expression filters, Do filters, ignore lists and the other
    keys have no place in the shape (`get-config task` shows the whole task). Only the
    `sources` the task runs on now are shown."""
    filters = {name: rule for name, rule in task.filters.items() if rule.action == "Ignore"}
    subtasks = [sub for sub in task.subtask_configs() if sub.source_id in sources]
    rules: list[models.TaskTableMigrateRule] = []
    confs: list[models.TaskSourceConf] = []
    for sub in subtasks:
        meta = sub.meta
        confs.append(models.TaskSourceConf(
            source_name=sub.source_id,
            binlog_name=meta.binlog_name or None if meta else None,
            binlog_pos=meta.binlog_pos or None if meta else None,
            binlog_gtid=meta.binlog_gtid or None if meta else None))
        tables: list[tuple[str, str, models.MigrateTarget | None]] = [
            (r.schema_pattern, r.table_pattern or "*",
             models.MigrateTarget(schema=r.target_schema, table=r.target_table))
            for r in sub.routes.values()]
        for ref in (sub.block_allow_list.do_tables if sub.block_allow_list else []):
            if not any((s, t) == (ref.db_name, ref.tbl_name) for s, t, _ in tables):
                tables.append((ref.db_name, ref.tbl_name, None))
        for db in (sub.block_allow_list.do_dbs if sub.block_allow_list else []):
            if not any(s == db for s, _, _ in tables):
                tables.append((db, "*", None))
        if not tables:
            tables.append(("*", "*", None))
        for schema, table, target in tables:
            named = [name for name, rule in sub.filters.items() if name in filters
                     and (rule.schema_pattern, rule.table_pattern or "*") == (schema, table)]
            rules.append(models.TaskTableMigrateRule(
                source=models.MigrateSource(source_name=sub.source_id, schema=schema,
                                            table=table),
                target=target, binlog_filter_rule=named or None))
    first = subtasks[0]
    target_db = task.target_database
    return models.Task(
        name=task.name, task_mode=task.task_mode, shard_mode=first.shard_mode or None,
        strict_optimistic_shard_mode=first.strict_optimistic_shard_mode or None,
        meta_schema=task.meta_schema, enhance_online_schema_change=task.online_ddl,
        on_duplicate=_SHOWN_DUPLICATE.get(first.loader.on_duplicate, "overwrite"),
        target_config=models.TaskTargetDataBase(
            host=target_db.host, port=target_db.port, user=target_db.user, password=MASK,
            security=_shown_security(target_db)),
        binlog_filter_rule={name: models.TaskBinLogFilterRule(
            ignore_event=rule.events or None, ignore_sql=rule.sql_pattern or None)
            for name, rule in filters.items()} or None,
        table_migrate_rule=rules,
        source_config=models.TaskSourceConfig(
            full_migrate_conf=models.TaskFullMigrateConf(
                export_threads=first.mydumper.threads, import_threads=first.loader.pool_size,
                data_dir=_dump_dir(first.loader.dir, task.name),
                consistency=_consistency(first.mydumper.extra_args)),
            incr_migrate_conf=models.TaskIncrMigrateConf(
                repl_threads=first.syncer.worker_count, repl_batch=first.syncer.batch),
            source_conf=confs))
