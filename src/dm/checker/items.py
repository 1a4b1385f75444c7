"""Precheck items with DM's names; each returns a DM-shaped result dict.

State: `success`, `warn` or `fail`; a `fail` blocks start-task, a `warn` does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dm.db import Connection, query_all, query_one
from dm.rules.onlineddl import ShadowTables, TableKind
from dm.schema import catalog

SUCCESS, WARN, FAIL = "success", "warn", "fail"


@dataclass
class CheckResult:
    id: int
    name: str
    desc: str
    state: str = SUCCESS
    errors: list[dict[str, str]] = field(default_factory=list)
    instruction: str = ""
    extra: str = ""

    def problem(self, severity: str, text: str, instruction: str = "") -> None:
        self.errors.append({"severity": severity, "short_error": text})
        if severity == FAIL or self.state == SUCCESS:
            self.state = severity
        if instruction:
            self.instruction = instruction

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "desc": self.desc, "state": self.state,
                "errors": self.errors or None, "instruction": self.instruction,
                "extra": self.extra}


def grants(conn: Connection) -> list[str]:
    return [str(r[0]) for r in query_all(conn, "SHOW GRANTS FOR CURRENT_USER()")]


def global_privileges(grants: list[str]) -> set[str]:
    privs: set[str] = set()
    for g in grants:
        m = re.match(r"GRANT (.+?) ON \*\.\* TO", g)
        if m:
            privs |= {p.strip().upper() for p in m.group(1).split(",")}
    return privs


def dump_privilege(conn: Connection, source: str, rid: int) -> CheckResult:
    r = CheckResult(rid, "dump_privilege", f"check dump privileges of source {source}")
    privs = global_privileges(grants(conn))
    if "ALL PRIVILEGES" in privs:
        return r
    missing = sorted({"RELOAD", "SELECT"} - privs)
    if missing:
        r.problem(FAIL, f"source {source}: user lacks global {', '.join(missing)}",
                  "GRANT RELOAD, SELECT ON *.* TO the source user (RELOAD is needed for the "
                  "consistent snapshot lock).")
    return r


def replication_privilege(conn: Connection, source: str, rid: int) -> CheckResult:
    r = CheckResult(rid, "replication_privilege",
                    f"check replication privileges of source {source}")
    privs = global_privileges(grants(conn))
    if "ALL PRIVILEGES" in privs:
        return r
    missing = sorted({"REPLICATION SLAVE", "REPLICATION CLIENT"} - privs - {"BINLOG MONITOR"})
    if missing:
        r.problem(FAIL, f"source {source}: user lacks global {', '.join(missing)}",
                  "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the source user.")
    return r


def _version_tuple(text: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def version(conn: Connection, source: str, rid: int) -> CheckResult:
    r = CheckResult(rid, "version", f"check whether the version of source {source} is supported")
    text = str(query_one(conn, "SELECT VERSION()")[0])  # type: ignore[index]
    mariadb = "mariadb" in text.lower()
    minimum = (10, 1, 2) if mariadb else (5, 6, 0)
    if _version_tuple(text) < minimum:
        r.problem(FAIL, f"source {source}: version {text} is older than "
                        f"{'.'.join(map(str, minimum))}", "Upgrade the upstream server.")
    elif not mariadb and _version_tuple(text) >= (8, 5, 0):
        r.problem(WARN, f"source {source}: MySQL {text} is newer than tested (8.4)")
    return r


def _variable_equals(name: str, item: str, want: str, instruction: str
                     ) -> Callable[[Connection, str, int], CheckResult]:
    def check(conn: Connection, source: str, rid: int) -> CheckResult:
        r = CheckResult(rid, item, f"check {name} of source {source}")
        row = query_one(conn, f"SHOW GLOBAL VARIABLES LIKE '{name}'")
        value = str(row[1]) if row else ""
        if value.upper() != want:
            r.problem(FAIL, f"source {source}: {name} is {value or 'unset'}, need {want}",
                      instruction)
        return r
    return check


binlog_enable = _variable_equals("log_bin", "binlog_enable", "ON",
                                 "Start the upstream with log_bin (--log-bin).")
binlog_format = _variable_equals("binlog_format", "binlog_format", "ROW",
                                 "SET GLOBAL binlog_format = 'ROW' (and in the server config).")
binlog_row_image = _variable_equals("binlog_row_image", "binlog_row_image", "FULL",
                                    "SET GLOBAL binlog_row_image = 'FULL'.")


def server_id(conn: Connection, source: str, rid: int) -> CheckResult:
    r = CheckResult(rid, "server_id", f"check server_id of source {source}")
    row = query_one(conn, "SELECT @@server_id")
    if not row or int(row[0]) == 0:
        r.problem(FAIL, f"source {source}: server_id is 0", "Set server_id > 0 upstream.")
    return r


def table_schema(conn: Connection, source: str, rid: int,
                 allows: Callable[[str, str], bool]) -> CheckResult:
    r = CheckResult(rid, "table_schema", f"check table structure of source {source}")
    tables = catalog.list_tables(conn, allows, ("BASE TABLE", "SYSTEM VERSIONED"))
    keys = catalog.constraints(conn, sorted({schema for schema, _, _ in tables}))
    for schema, table, kind in tables:
        found = keys.get((schema, table), catalog.Constraints(0, 0))
        if kind == "SYSTEM VERSIONED":
            r.problem(FAIL, f"source {source}: table `{schema}`.`{table}` is system-versioned",
                      "pydm does not migrate MariaDB system-versioned tables yet (their "
                      "history and row_start/row_end columns): leave the table out with the "
                      "block-allow-list, or drop its versioning upstream.")
            continue
        if found.keys == 0:
            r.problem(WARN, f"source {source}: table `{schema}`.`{table}` has no primary or "
                            "unique key", "Add a primary key: without one, replication "
                                          "compares whole rows and serialises the table.")
        if found.foreign_keys:
            r.problem(WARN, f"source {source}: table `{schema}`.`{table}` has foreign keys",
                      "Load and sync sessions run with foreign_key_checks=0 (as DM): the "
                      "upstream checked the keys, and cascades must not fire twice.")
    return r


def online_ddl(conn: Connection, source: str, rid: int, shadow: ShadowTables,
               allows: Callable[[str, str], bool]) -> CheckResult:
    """DM's online ddl checker: a ghost table of a taken table means a gh-ost or pt-osc
    change is under way, whose ALTERs the task would never see."""
    r = CheckResult(rid, "online_ddl", f"check if in online ddl phase of source {source}")
    for schema, table, _ in catalog.list_tables(conn, shadow.by_real_name(allows)):
        kind = shadow.kind(table)
        if kind is TableKind.GHOST:
            r.problem(FAIL, f"source {source}: your ddl is in pt/ghost online-ddl: ghost table "
                            f"`{schema}`.`{table}` of `{schema}`.`{shadow.real_name(table)}` "
                            "exists",
                      "Please wait the online-ddl over: start the task after the tool's "
                      "cut-over, or once the tool is stopped and its ghost table dropped.")
        elif kind is TableKind.TRASH:
            r.problem(WARN, f"source {source}: table `{schema}`.`{table}` matches "
                            "trash-table-rules: the task leaves it out (neither dumped nor "
                            "replicated)",
                      "A tool's old table can go; a table of your own whose name matches "
                      "needs trash-table-rules that leave it out, or another name.")
    return r


SOURCE_ITEMS: dict[str, Callable[[Connection, str, int], CheckResult]] = {
    "dump_privilege": dump_privilege,
    "replication_privilege": replication_privilege,
    "version": version,
    "server_id": server_id,
    "binlog_enable": binlog_enable,
    "binlog_format": binlog_format,
    "binlog_row_image": binlog_row_image,
}
FULL_ONLY = {"dump_privilege"}
INCREMENTAL_ONLY = {"replication_privilege", "server_id", "binlog_enable", "binlog_format",
                    "binlog_row_image", "online_ddl"}
