"""DM's cross-checks of a task (TaskConfig.adjust): references, duplicates, modes.

Each problem is a finding at the key that causes it; deprecated keys become
warnings. The few adjustments DM makes (is-sharding, online-ddl-scheme,
black-white-list) are applied to the config here.
"""

from __future__ import annotations

from collections.abc import Sequence

from dm import errors
from dm.config.source import check_gtid_set, warn_db
from dm.config.task import DUMP_MODES, MySQLInstance, SyncerConfig, TaskConfig
from dm.config.yamlfile import Findings
from dm.rules.expr import expression_problem
from dm.rules.router import TableRouter

# instance list key -> global section it refers to
_LISTS = {
    "route-rules": "routes",
    "filter-rules": "filters",
    "column-mapping-rules": "column-mappings",
    "expression-filters": "expression-filter",
}
# instance name key -> global section; `mydumpers`... double as unit config blocks
_NAMES = {
    "mydumper-config-name": "mydumpers",
    "loader-config-name": "loaders",
    "syncer-config-name": "syncers",
}
_DEPRECATED = {
    "is-sharding": "deprecated; use shard-mode",
    "online-ddl-scheme": "deprecated; use online-ddl: true",
    "enable-heartbeat": "deprecated and ignored",
    "heartbeat-update-interval": "deprecated and ignored",
    "heartbeat-report-interval": "deprecated and ignored",
    "timezone": "deprecated and ignored; sessions use +00:00",
    "ansi-quotes": "deprecated and ignored; ANSI_QUOTES is discovered",
    "remove-meta": "deprecated and ignored; use `start-task --remove-meta`",
    "black-white-list": "deprecated; use block-allow-list",
}

_SYNCER_DEPRECATED = {
    "max_retry": "deprecated and ignored",
    "disable_detect": "deprecated and ignored",
    "enable_ansi_quotes": "deprecated and ignored; ANSI_QUOTES is discovered",
    "enable_gtid": "ignored; the source config decides",
    "auto_fix_gtid": "ignored; the source config decides",
}


def check_task(cfg: TaskConfig, findings: Findings) -> None:
    """Record every cross-check failure of `cfg` and apply DM's adjustments."""
    _adjust_deprecated(cfg, findings)
    if not cfg.name:
        findings.error(errors.CONFIG_NEED_TASK_NAME, ("name",))
    if not cfg.mysql_instances:
        findings.error(errors.CONFIG_NO_INSTANCES, ("mysql-instances",))
    if cfg.strict_optimistic_shard_mode and cfg.shard_mode != "optimistic":
        findings.error(errors.CONFIG_STRICT_OPTIMISTIC, ("strict-optimistic-shard-mode",))
    warn_db(cfg.target_database, ("target-database",), findings)
    _check_expression_filters(cfg, findings)
    seen: dict[str, int] = {}
    for index, inst in enumerate(cfg.mysql_instances):
        path = ("mysql-instances", index)
        if inst.source_id in seen:
            findings.error(
                errors.CONFIG_DUP_SOURCE_ID,
                (*path, "source-id"),
                value=inst.source_id,
                other=seen[inst.source_id],
            )
        seen.setdefault(inst.source_id, index)
        _check_instance(cfg, inst, path, findings)
    _check_unused(cfg, findings)


def _adjust_deprecated(cfg: TaskConfig, findings: Findings) -> None:
    for name, info in TaskConfig.model_fields.items():
        key = info.alias or name
        if key in _DEPRECATED and getattr(cfg, name) != info.get_default(call_default_factory=True):
            findings.warn((key,), _DEPRECATED[key])
    if cfg.is_sharding and not cfg.shard_mode:
        cfg.shard_mode = "pessimistic"
    if cfg.online_ddl_scheme:
        cfg.online_ddl = True
    if not cfg.block_allow_list and cfg.black_white_list:
        cfg.block_allow_list = cfg.black_white_list
    for name, syncer in cfg.syncers.items():
        _warn_syncer(syncer, ("syncers", name), findings)


def _warn_syncer(syncer: SyncerConfig, path: tuple[str | int, ...], findings: Findings) -> None:
    for name, text in _SYNCER_DEPRECATED.items():
        if getattr(syncer, name) != SyncerConfig.model_fields[name].default:
            findings.warn((*path, name.replace("_", "-")), text)


def _check_expression_filters(cfg: TaskConfig, findings: Findings) -> None:
    for name, rule in cfg.expression_filter.items():
        path = ("expression-filter", name)
        for key, value in (("schema", rule.schema_), ("table", rule.table)):
            if not value:
                findings.error(errors.CONFIG_EXPR_EMPTY, (*path, key))
        exprs = {
            "insert-value-expr": rule.insert_value_expr,
            "update-old-value-expr": rule.update_old_value_expr,
            "update-new-value-expr": rule.update_new_value_expr,
            "delete-value-expr": rule.delete_value_expr,
        }
        kinds = {k.split("-")[0] for k, v in exprs.items() if v}
        if len(kinds) > 1:
            findings.error(errors.CONFIG_EXPR_MANY, path, detail=" and ".join(sorted(kinds)))
        for key, expr in exprs.items():
            problem = expression_problem(expr) if expr else None
            if problem:
                findings.error(errors.CONFIG_EXPR_GRAMMAR, (*path, key), value=expr, detail=problem)


def _check_instance(
    cfg: TaskConfig, inst: MySQLInstance, path: tuple[str | int, ...], findings: Findings
) -> None:
    _check_meta(cfg, inst, path, findings)
    for key, section in _LISTS.items():
        names: list[str] = getattr(inst, key.replace("-", "_"))
        _check_refs(_section(cfg, section), names, (*path, key), section, findings)
    ba_key = "block-allow-list" if inst.block_allow_list else "black-white-list"
    if inst.black_white_list:
        findings.warn((*path, "black-white-list"), "deprecated; use block-allow-list")
    if inst.ba_list_name and inst.ba_list_name not in cfg.block_allow_list:
        findings.error(
            errors.CONFIG_REF_NOT_FOUND["block-allow-list"],
            (*path, ba_key),
            value=inst.ba_list_name,
            section="block-allow-list",
        )
    for key, section in _NAMES.items():
        name = getattr(inst, key.replace("-", "_"))
        unit = key.removesuffix("-config-name")
        if name and name not in _section(cfg, section):
            findings.error(
                errors.CONFIG_REF_NOT_FOUND[section], (*path, key), value=name, section=section
            )
        if name and getattr(inst, unit) is not None:
            findings.error(errors.CONFIG_UNIT_CONFLICT[unit], (*path, unit))
    if inst.syncer is not None:
        _warn_syncer(inst.syncer, (*path, "syncer"), findings)
    _check_units(cfg, inst, path, findings)
    _check_route_overlap(cfg, inst, path, findings)
    _check_filter_overlap(cfg, inst, path, findings)


def _section(cfg: TaskConfig, section: str) -> dict[str, object]:
    return dict(getattr(cfg, section.replace("-", "_")))


def _check_refs(
    defined: dict[str, object],
    names: Sequence[str],
    path: tuple[str | int, ...],
    section: str,
    findings: Findings,
) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name not in defined:
            findings.error(
                errors.CONFIG_REF_NOT_FOUND[section], (*path, index), value=name, section=section
            )
        if name in seen:
            findings.error(errors.CONFIG_DUPLICATE_ITEM, (*path, index), value=name)
        seen.add(name)


def _check_meta(
    cfg: TaskConfig, inst: MySQLInstance, path: tuple[str | int, ...], findings: Findings
) -> None:
    meta = inst.meta
    if meta is None:
        if cfg.task_mode == "incremental":
            findings.error(errors.CONFIG_META_NOT_SET, path)
        return
    if not meta.binlog_name and not meta.binlog_gtid:
        findings.error(errors.CONFIG_META_INVALID, (*path, "meta"))
    if meta.binlog_gtid:
        try:
            check_gtid_set("", meta.binlog_gtid)
        except ValueError as exc:
            findings.invalid((*path, "meta", "binlog-gtid"), str(exc))
    if cfg.task_mode != "incremental":
        findings.warn((*path, "meta"), "ignored: only task-mode incremental starts from meta")


def _check_units(
    cfg: TaskConfig, inst: MySQLInstance, path: tuple[str | int, ...], findings: Findings
) -> None:
    mydumper, _, _ = cfg.units_of(inst)
    if cfg.task_mode in DUMP_MODES and not mydumper.mydumper_path:
        key = "mydumper-config-name" if inst.mydumper_config_name else "mydumper"
        findings.error(errors.CONFIG_MYDUMPER_PATH, (*path, key))


def _check_route_overlap(
    cfg: TaskConfig, inst: MySQLInstance, path: tuple[str | int, ...], findings: Findings
) -> None:
    """Two routes of one instance may not share schema-pattern and table-pattern."""
    rules = {n: cfg.routes[n] for n in inst.route_rules if n in cfg.routes}
    try:
        TableRouter(rules, case_sensitive=cfg.case_sensitive)
    except errors.DMError as exc:
        findings.error(errors.CONFIG_TABLE_ROUTER, (*path, "route-rules"), detail=exc.message)


def _check_filter_overlap(
    cfg: TaskConfig, inst: MySQLInstance, path: tuple[str | int, ...], findings: Findings
) -> None:
    """Two filters of one instance may not share schema-pattern and table-pattern."""
    seen: dict[tuple[str, str], str] = {}
    for index, name in enumerate(inst.filter_rules):
        rule = cfg.filters.get(name)
        if rule is None:
            continue
        key = rule.pattern_key(cfg.case_sensitive)
        if key in seen and seen[key] != name:
            findings.error(
                errors.CONFIG_EVENT_FILTER,
                (*path, "filter-rules", index),
                detail=f"filters {seen[key]!r} and {name!r} have the same schema-pattern and "
                "table-pattern",
            )
        seen.setdefault(key, name)


def _check_unused(cfg: TaskConfig, findings: Findings) -> None:
    used: dict[str, set[str]] = {section: set() for section in (*_LISTS.values(), *_NAMES.values())}
    for inst in cfg.mysql_instances:
        for key, section in _LISTS.items():
            used[section].update(getattr(inst, key.replace("-", "_")))
        for key, section in _NAMES.items():
            used[section].add(getattr(inst, key.replace("-", "_")))
    for section, names in used.items():
        for name in _section(cfg, section):
            if name not in names:
                findings.error(errors.CONFIG_GLOBAL_UNUSED, (section, name))
