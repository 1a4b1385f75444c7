"""Precheck items that need the task's settings or its target, with DM's names:
`conn_number`, `target_privilege`, `binlog_db` and `meta_position`."""

from __future__ import annotations

import re

import pymysql

from dm.binlog.status import binlog_sizes, binlog_status
from dm.checker.items import FAIL, WARN, CheckResult, global_privileges, grants
from dm.config.task import Meta
from dm.db import Connection, query_all, query_one

_CONNECTIONS_HINT = ("Set a larger max_connections, or lower the task's threads "
                     "(mydumpers.threads, loaders.pool-size).")
_NO_PRIVILEGE = frozenset({1227, 1142, 1044})  # lacks the right for the statement
_NO_BINLOG = 1381  # "You are not using binary logging"
TARGET_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER",
                     "INDEX")


def conn_number(conn: Connection, who: str, needed: int, rid: int) -> CheckResult:
    """The server's max_connections holds the `needed` connections of `who` (a source's
    dump, the target's load), beside the connections already open: fail when it can
    never, warn when it cannot now."""
    r = CheckResult(rid, "conn_number", "check if connection concurrency exceeds "
                                        f"database's maximum connection limit ({who})")
    row = query_one(conn, "SELECT @@GLOBAL.max_connections")
    limit = int(row[0]) if row else 0
    if limit == 0:  # unlimited
        return r
    used = len(query_all(conn, "SHOW PROCESSLIST")) - 1  # without this one
    if needed > limit:
        r.problem(FAIL, f"{who}: max_connections {limit} is less than the {needed} "
                        "connections the task needs", _CONNECTIONS_HINT)
    elif limit - used < needed:
        r.problem(WARN, f"{who}: max_connections {limit}, {used} in use: {limit - used} "
                        f"left for the {needed} the task needs", _CONNECTIONS_HINT)
    return r


def target_privilege(conn: Connection, rid: int, databases: set[str]) -> CheckResult:
    """The privileges the task writes `databases` with, granted on `*.*` or on each of
    them (a database-level grant's name may hold LIKE wildcards, as MariaDB's do)."""
    r = CheckResult(rid, "target_privilege", "check privileges of the target database user")
    shown = grants(conn)
    everywhere = global_privileges(shown)
    on_database = database_privileges(shown)
    lacking: dict[tuple[str, ...], list[str]] = {}
    for database in sorted(databases) or ["*"]:
        privs = set(everywhere)
        for pattern, granted in on_database:
            if database != "*" and pattern.fullmatch(database):
                privs |= granted
        if "ALL PRIVILEGES" in privs:
            continue
        missing = tuple(p for p in TARGET_PRIVILEGES if p not in privs)
        if missing:
            lacking.setdefault(missing, []).append(database)
    for missing, where in lacking.items():
        on = "global" if where == ["*"] else "on " + ", ".join(f"`{d}`" for d in where)
        r.problem(WARN, f"the target user lacks {', '.join(missing)} {on}",
                  "GRANT " + ", ".join(TARGET_PRIVILEGES) + " ON *.* (or ON each database "
                  "the task writes) TO the target user (a DDL or load it cannot run pauses "
                  "the task).")
    return r


_DATABASE_GRANT = re.compile(r"GRANT (.+?) ON `((?:[^`]|``)+)`\.\* TO")


def database_privileges(shown: list[str]) -> list[tuple[re.Pattern[str], set[str]]]:
    """SHOW GRANTS' database-level grants: (the database name as a pattern, privileges)."""
    out = []
    for grant in shown:
        match = _DATABASE_GRANT.match(grant)
        if match:
            name = match.group(2).replace("``", "`")
            pattern = "".join(".*" if part == "%" else "." if part == "_" else
                              re.escape(part[-1]) for part in
                              re.findall(r"\\.|%|_|[^\\%_]", name))
            out.append((re.compile(pattern, re.S),
                        {p.strip().upper() for p in match.group(1).split(",")}))
    return out


def binlog_db(conn: Connection, source: str, rid: int, databases: set[str],
              case_sensitive: bool) -> CheckResult:
    """The databases the task migrates are binlogged: not outside binlog_do_db, nor in
    binlog_ignore_db (the upstream's `--binlog-do-db` / `--binlog-ignore-db`)."""
    r = CheckResult(rid, "binlog_db", "check whether migrated dbs are in "
                                      f"binlog_do_db/binlog_ignore_db of source {source}")
    try:
        status = binlog_status(conn)
    except pymysql.err.MySQLError as exc:
        if exc.args[0] not in _NO_PRIVILEGE:
            raise
        r.problem(WARN, f"source {source}: cannot read the binlog status ({exc.args[1]})",
                  "replication_privilege names the rights the source user lacks.")
        return r
    if status is None:  # no binlog: binlog_enable says so
        return r
    do_db, ignore_db = status.do_db, status.ignore_db
    fold = (lambda s: s) if case_sensitive else str.lower
    wanted = {fold(d) for d in databases}
    if do_db:
        outside = sorted(wanted - {fold(d) for d in do_db.split(",")})
        if outside:
            r.problem(WARN, f"source {source}: databases {', '.join(outside)} are not in "
                            f"binlog_do_db ({do_db}): their changes are not binlogged",
                      "Add them to the upstream's binlog-do-db, or leave them out of the "
                      "task.")
    else:
        ignored = sorted(wanted & {fold(d) for d in ignore_db.split(",") if d})
        if ignored:
            r.problem(WARN, f"source {source}: databases {', '.join(ignored)} are in "
                            f"binlog_ignore_db ({ignore_db}): their changes are not "
                            "binlogged", "Take them out of the upstream's binlog-ignore-db, "
                                         "or leave them out of the task.")
    return r


def meta_position(conn: Connection, source: str, rid: int, meta: Meta) -> CheckResult:
    """The `meta` binlog file is on the upstream, and the position inside it."""
    r = CheckResult(rid, "meta_position", f"check whether meta position is valid for "
                                          f"source {source}")
    if not meta.binlog_name:
        return r
    try:
        files = binlog_sizes(conn)
    except pymysql.err.MySQLError as exc:
        if exc.args[0] == _NO_BINLOG:  # binlog_enable says so
            return r
        if exc.args[0] not in _NO_PRIVILEGE:
            raise
        r.problem(FAIL, f"source {source}: cannot list the binlog files ({exc.args[1]})",
                  "GRANT REPLICATION CLIENT (BINLOG MONITOR on MariaDB 10.5+) ON *.* TO "
                  "the source user.")
        return r
    size = files.get(meta.binlog_name)
    if size is None:
        r.problem(FAIL, f"source {source}: meta binlog-name {meta.binlog_name} is not among "
                        f"the upstream's binlog files ({', '.join(sorted(files)) or 'none'})",
                  "Give meta a binlog file the upstream still has (SHOW BINARY LOGS), or "
                  "migrate with task-mode all.")
    elif meta.binlog_pos > size:
        r.problem(FAIL, f"source {source}: meta binlog-pos {meta.binlog_pos} is beyond the "
                        f"end of {meta.binlog_name} ({size} bytes)",
                  "Give meta a position inside the file (SHOW BINLOG EVENTS IN it).")
    return r
