"""Where an upstream's binlog ends now (file, position, executed GTID set), whatever its
flavour and version: MySQL 8.4 knows only `SHOW BINARY LOG STATUS` (8.2+), MariaDB and
older MySQL only `SHOW MASTER STATUS`; MariaDB's GTID set is `@@gtid_binlog_pos`, MySQL's
the status's Executed_Gtid_Set."""

from __future__ import annotations

from dataclasses import dataclass

import pymysql

from dm.db import Connection, is_mariadb, query_all, query_one

_SYNTAX_ERROR = 1064


@dataclass(frozen=True)
class BinlogStatus:
    file: str
    pos: int
    gtid: str  # "" without GTIDs
    do_db: str = ""  # the server's binlog-do-db (comma-separated), "" for every database
    ignore_db: str = ""  # its binlog-ignore-db


def binlog_status(conn: Connection) -> BinlogStatus | None:
    """None when the server writes no binlog (log_bin OFF)."""
    try:
        row = query_one(conn, "SHOW BINARY LOG STATUS")
    except pymysql.err.ProgrammingError as exc:
        if exc.args[0] != _SYNTAX_ERROR:
            raise
        row = query_one(conn, "SHOW MASTER STATUS")  # MariaDB, MySQL before 8.2
    if row is None:
        return None
    if is_mariadb(conn):
        gtid_row = query_one(conn, "SELECT @@gtid_binlog_pos")
        gtid = str(gtid_row[0]) if gtid_row and gtid_row[0] else ""
    else:
        gtid = str(row[4]).replace("\n", "") if len(row) > 4 and row[4] else ""
    return BinlogStatus(str(row[0]), int(row[1]), gtid, str(row[2] or ""), str(row[3] or ""))


def binlog_sizes(conn: Connection) -> dict[str, int]:
    """Each binlog file the server still has, with its size (SHOW BINARY LOGS)."""
    return {str(row[0]): int(row[1]) for row in query_all(conn, "SHOW BINARY LOGS")}
