"""One consistent snapshot shared by several dump connections, and its binlog location.

Commits are blocked only while every connection starts its consistent-snapshot
transaction and the binlog position is read: on MariaDB with BACKUP STAGE
BLOCK_COMMIT (DDL and non-transactional writes go on), on MySQL with a brief
FLUSH TABLES WITH READ LOCK. `consistency: none` takes no lock at all. The XA
transactions prepared at that moment are read under the same lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pymysql

from dm import errors
from dm.binlog.status import binlog_status
from dm.core.transactions import Xid
from dm.db import Connection, is_mariadb, query_one

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotPosition:
    """Where the binlog stood when the snapshot was taken."""

    binlog_name: str
    binlog_pos: int
    binlog_gtid: str
    taken_at: float
    lock_seconds: float


def _master_position(ctl: Connection) -> tuple[str, int, str]:
    status = binlog_status(ctl)
    if status is None:
        raise errors.NO_BINLOG_LOCATION(path="SHOW MASTER STATUS (empty: is log_bin ON?)")
    return status.file, status.pos, status.gtid


def _begin(conns: list[Connection]) -> None:
    for conn in conns:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")


def _prepared_xa(ctl: Connection) -> tuple[str, ...]:
    """The XA transactions prepared and not yet ended (XA RECOVER): their rows are in no
    snapshot, and their XA PREPARE, which logged the rows, lies before its position."""
    try:
        with ctl.cursor() as cur:
            cur.execute("XA RECOVER")
            rows = cur.fetchall()
    except pymysql.err.MySQLError as exc:  # MySQL 8 wants XA_RECOVER_ADMIN
        log.warning("XA RECOVER refused (%s): a transaction prepared at the snapshot and "
                    "committed later would stop sync with 36106", exc)
        return ()
    return tuple(str(Xid(bytes(data[:glen]), bytes(data[glen:glen + blen]), int(fmt)))
                 for fmt, glen, blen, data in rows)


def take_snapshot(ctl: Connection, conns: list[Connection], consistency: str,
                  target: str) -> tuple[SnapshotPosition, tuple[str, ...]]:
    """Start a snapshot transaction on every conn; return the binlog location it matches
    and the XA transactions prepared at it (as XA COMMIT names them)."""
    mariadb = is_mariadb(ctl)
    try:
        if consistency == "none":
            _begin(conns)
            name, pos, gtid = _master_position(ctl)
            return SnapshotPosition(name, pos, gtid, time.time(), 0.0), _prepared_xa(ctl)
        lock, unlock = ((["BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"], "BACKUP STAGE END")
                        if mariadb and consistency in ("auto", "flush") else
                        (["FLUSH TABLES WITH READ LOCK"], "UNLOCK TABLES"))
        with ctl.cursor() as cur:
            for sql in lock:
                cur.execute(sql)
            locked = time.monotonic()
            try:
                _begin(conns)
                name, pos, gtid = _master_position(ctl)
                prepared = _prepared_xa(ctl)  # commits are blocked: as at the position
            finally:
                cur.execute(unlock)
            held = time.monotonic() - locked
    except pymysql.err.MySQLError as exc:
        raise errors.DUMP_SNAPSHOT(exc, target=target) from exc
    if mariadb:
        _check_agreement(conns, name, pos, target)
    return SnapshotPosition(name, pos, gtid, time.time(), held), prepared


def _check_agreement(conns: list[Connection], name: str, pos: int, target: str) -> None:
    """MariaDB tells each snapshot's binlog position; all must equal the recorded one."""
    for conn in conns:
        file_row = query_one(conn, "SHOW SESSION STATUS LIKE 'binlog_snapshot_file'")
        pos_row = query_one(conn, "SHOW SESSION STATUS LIKE 'binlog_snapshot_position'")
        if not (file_row and pos_row):
            continue
        snap_name, snap_pos = _text(file_row[1]), int(_text(pos_row[1]))
        if snap_name != name or snap_pos != pos:
            raise errors.DUMP_SNAPSHOT(
                f"snapshot at {snap_name}:{snap_pos} but binlog read at {name}:{pos}",
                target=target)


def _text(value: object) -> str:
    """Dump connections are raw: their values arrive as bytes."""
    return value.decode() if isinstance(value, bytes) else str(value)
