"""The dump's table definitions as of its snapshot.

SHOW CREATE TABLE (and information_schema) read a definition as it is now, not as of the
snapshot, and MariaDB's instant ALTERs (ADD/DROP COLUMN ...) do not make the snapshot's
reads fail the way copying ones do (1412): a definition changed after the snapshot would
be dumped with rows of the snapshot and a binlog start before the change, which sync
then meets again (36027, the tracked schema out of step).

So, right after the snapshot and before anything is planned, one connection inside the
snapshot opens every table to dump. That holds each table's metadata lock, so no DDL can
change them until the plan and its CREATE TABLE files are written (then it lets go);
and the binlog between the snapshot and that moment is read for DDLs on them. A DDL
there, or a table the snapshot cannot read (1412: changed by a copying ALTER, or created
after it), means the dump takes a new snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pymysql

from dm import errors
from dm.binlog.status import binlog_status
from dm.core.schemas import Allows
from dm.core.transactions import Role, role_of
from dm.db import Connection, qualified, query_all
from dm.dump.plan import TablePlan, schema_file
from dm.dump.snapshot import SnapshotPosition
from dm.schema import ddl
from dm.schema.createtable import parse_create_table

log = logging.getLogger(__name__)

# a table changed after the snapshot (1412), dropped or renamed since it was listed
# (1146), or a metadata lock lost to a DDL (1213, 1205): a new snapshot
_MOVED = frozenset({1412, 1146, 1213, 1205})
_NO_PRIVILEGE = frozenset({1227, 1142})
_QUERY_EVENTS = frozenset({"Query", "Query_compressed"})  # MariaDB's log_bin_compress
_OPENED_PER_QUERY = 200
_EVENTS_PER_PAGE = 1000
Table = tuple[str, str]


def hold(guard: Connection, tables: list[Table], snapshot: SnapshotPosition,
         allows: Allows) -> str | None:
    """Take the metadata locks of `tables` in `guard` (a connection inside the snapshot;
    they last until its transaction ends) and check the binlog since the snapshot: None
    when the definitions read from now on are the snapshot's, else why they may not be."""
    try:
        for start in range(0, len(tables), _OPENED_PER_QUERY):
            query_all(guard, " UNION ALL ".join(
                f"(SELECT 1 FROM {qualified(s, t)} LIMIT 1)"
                for s, t in tables[start:start + _OPENED_PER_QUERY]))
    except pymysql.err.MySQLError as exc:
        if exc.args[0] in _MOVED:
            return f"a table to dump changed after the snapshot ({exc.args[1]})"
        raise
    now = binlog_status(guard)
    if now is None or (now.file, now.pos) == (snapshot.binlog_name, snapshot.binlog_pos):
        return None
    files = _binlog_files(guard)
    if files is None:
        return None
    if snapshot.binlog_name not in files:  # purged meanwhile: nothing to read
        return f"the snapshot's binlog file {snapshot.binlog_name} is gone"
    try:
        for db, sql in _statements(guard, files, (snapshot.binlog_name, snapshot.binlog_pos),
                                   (now.file, now.pos)):
            changed = _changed_table(sql, db, allows)
            if changed:
                return f"{changed} changed after the snapshot: {sql[:200]!r}"
    except pymysql.err.MySQLError as exc:
        if exc.args[0] not in _NO_PRIVILEGE:
            raise
        _unchecked(exc)
    return None


def unchanged_since_planned(guard: Connection, tables: list[TablePlan],
                            directory: Path) -> None:
    """A resumed dump, `guard` holding `tables`' metadata locks (`hold`): each table with
    chunks still to dump must have the definition its CREATE TABLE file was written with,
    since its downstream table and its chunks dumped earlier have it. Only columns added
    to a table cut on a key reconcile: the old columns are still dumped, and sync, from
    the earliest snapshot in safe mode, replays the ADD and every row changed since. Any
    other change (or one on a keyless table, whose row events before its later copy are
    skipped, DDL and all) raises 32007."""
    for table in tables:
        name = qualified(table.schema, table.table)
        planned = parse_create_table((directory / schema_file(table.schema, table.table))
                                     .read_text(), current_db=table.schema)
        row = query_all(guard, f"SHOW CREATE TABLE {name}")[0]
        now = parse_create_table(str(row[1]), current_db=table.schema)
        if now.columns == planned.columns:
            continue
        columns = {c.name.lower(): c for c in now.columns}
        lost = [c.name for c in planned.columns if columns.get(c.name.lower()) != c]
        if lost:
            detail = f"column {', '.join(lost)} dropped, renamed or changed"
        elif table.chunk_key is None:
            detail = "columns added to a table without a chunk key"
        else:
            log.info("dump: columns added to %s while its dump was interrupted; the rest of "
                     "its chunks are dumped with the planned columns", name)
            continue
        raise errors.DUMP_TABLE_CHANGED(table=name, detail=detail)


def _unchecked(exc: pymysql.err.MySQLError) -> None:
    log.warning("dump: cannot read the binlog since the snapshot (%s); a DDL run in the "
                "moment between the snapshot and the plan would not be seen (grant "
                "REPLICATION SLAVE, or BINLOG MONITOR on MariaDB)", exc.args[1])


def _changed_table(sql: str, db: str, allows: Allows) -> str:
    """The table (or database) a statement changes that the dump takes, or ""."""
    if role_of(sql) is not Role.STATEMENT:
        return ""
    try:
        parsed = ddl.parse(sql, db)
    except errors.DMError:  # not understood: it may have changed anything
        return "a table"
    if parsed.kind is ddl.Kind.NOT_DDL:
        return ""
    return next((name.quoted() for name in parsed.tables
                 if allows(name.schema, name.table)), "")


def _binlog_files(conn: Connection) -> list[str] | None:
    """The server's binlog files; None when the user may not list them (unchecked)."""
    try:
        return [str(r[0]) for r in query_all(conn, "SHOW BINARY LOGS")]
    except pymysql.err.MySQLError as exc:
        if exc.args[0] not in _NO_PRIVILEGE:
            raise
        _unchecked(exc)
        return None


def _statements(conn: Connection, files: list[str], start: tuple[str, int],
                end: tuple[str, int]) -> Iterator[tuple[str, str]]:
    """(default database, statement) of each query event from `start` to `end`, in
    `files` (the server's binlog files, `start`'s among them)."""
    for name in files[files.index(start[0]):]:
        pos = start[1] if name == start[0] else 4
        while True:
            rows = query_all(conn, f"SHOW BINLOG EVENTS IN %s FROM {pos} "
                                   f"LIMIT {_EVENTS_PER_PAGE}", (name,))
            for _, at, kind, _, next_pos, info in rows:
                if name == end[0] and int(at) >= end[1]:
                    return
                if kind in _QUERY_EVENTS:
                    yield _default_db(str(info))
                pos = int(next_pos)
            if len(rows) < _EVENTS_PER_PAGE:
                break
        if name == end[0]:
            return


def _default_db(info: str) -> tuple[str, str]:
    """SHOW BINLOG EVENTS shows a query event as "use `db`; <statement>"."""
    if info.startswith("use `"):
        quoted, sep, statement = info[5:].partition("`; ")
        if sep:
            return quoted.replace("``", "`"), statement
    return "", info
