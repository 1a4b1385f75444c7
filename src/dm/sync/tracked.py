"""The table schemas a sync unit's checkpoint holds, shown, replaced or removed while the
unit does not run (DM's `binlog-schema list|update|delete`, `operate-schema`): the sync
unit reads them back when it starts, so a wrong tracked schema (a decode error, a DDL the
tracker could not follow) is fixed without restarting the task."""

from __future__ import annotations

from dataclasses import replace

import pymysql

from dm import errors
from dm.db import Endpoint, connect, qualified, query_one
from dm.schema.createtable import parse_create_table
from dm.schema.render import create_table_sql
from dm.schema.table import TableInfo
from dm.sync.checkpoint import SyncPoint
from dm.sync.syncer import SyncUnit


class TrackedSchemas:
    def __init__(self, unit: SyncUnit) -> None:
        self.unit = unit

    def _key(self, db: str, table: str) -> tuple[str, str]:
        """As the tracker keys its tables (and the checkpoint stores them): folded to lower
        case unless the task is case-sensitive."""
        return self.unit.tracker.key(db, table)

    def show(self, db: str, table: str) -> str:
        """The tracked CREATE TABLE; for a table not tracked yet, the routed downstream
        table's, which is where sync would start from (as DM shows it)."""
        info = self._point().tables.get(self._key(db, table))
        if info is None:
            info = self._read(self.unit.cfg.target, *self.unit.route(db, table), db, table,
                              downstream=True)
        return create_table_sql(info)

    def databases(self) -> list[str]:
        """The databases of the tables the checkpoint tracks."""
        return sorted({db for db, _ in self._point().tables})

    def tables(self, db: str) -> list[str]:
        """The tracked tables of database `db`."""
        key = self._key(db, "")[0]
        return sorted(t for d, t in self._point().tables if d == key)

    def replace(self, db: str, table: str, statement: str, from_source: bool,
                from_target: bool) -> str:
        if from_source:
            info = self._read(self.unit.cfg.source, db, table, db, table, downstream=False)
        elif from_target:
            info = self._read(self.unit.cfg.target, *self.unit.route(db, table), db, table,
                              downstream=True)
        else:
            info = replace(parse_create_table(statement, current_db=db), schema=db,
                           table=table)
        key = self._key(db, table)
        info = replace(info, schema=key[0], table=key[1])
        point = self._point()
        point.tables[key] = info
        self._save(point)
        return create_table_sql(info)

    def remove(self, db: str, table: str) -> str:
        """Forget the table: sync starts it again from the downstream table's schema."""
        point = self._point()
        if point.tables.pop(self._key(db, table), None) is None:
            raise errors.SCHEMA_TABLE_NOT_FOUND(table=qualified(db, table))
        self._save(point)
        return ""

    def _point(self) -> SyncPoint:
        conn = connect(self.unit.cfg.target, what="downstream")
        try:
            point = self.unit.checkpoint.load(conn)
        finally:
            conn.close()
        if point is None:
            raise errors.WORKER_SYNC_UNIT_ONLY(unit="Sync (no checkpoint yet)",
                                               task=self.unit.cfg.task)
        return point

    def _save(self, point: SyncPoint) -> None:
        conn = connect(self.unit.cfg.target, what="downstream")
        try:
            self.unit.checkpoint.save(conn, point)
        finally:
            conn.close()

    def _read(self, at: Endpoint, schema: str, table: str, db: str, name: str,
              downstream: bool) -> TableInfo:
        """SHOW CREATE TABLE of `schema`.`table` on `at`, as the tracked `db`.`name` (a
        merged table without its extract-* columns)."""
        what = "downstream" if downstream else f"source {self.unit.cfg.source_id}"
        conn = connect(at, what=what)
        try:
            row = query_one(conn, f"SHOW CREATE TABLE {qualified(schema, table)}")
        except pymysql.err.MySQLError as exc:
            raise errors.SCHEMA_TABLE_NOT_FOUND(exc, table=qualified(schema, table)) from exc
        finally:
            conn.close()
        assert row is not None
        info = replace(parse_create_table(str(row[1]), current_db=schema), schema=db,
                       table=name)
        extension = self.unit.extension(db, name) if downstream else None
        return info if extension is None else info.without(extension.columns)
