"""The upstream-side schema of every replicated table, advanced DDL by DDL.

`SchemaTracker.apply` replays one query-event statement on the tracked schemas; `put`
installs a table from the dump's schema file, the downstream or the checkpoint JSON.
Every change of a table gives it a new version (never reused, even after DROP and
CREATE) so row decoders cached per (table, version) are rebuilt exactly when needed.
"""

from __future__ import annotations

from dataclasses import replace

from dm.errors import SCHEMA_CANNOT_TRACK_DDL, SCHEMA_INVALID_JSON, SCHEMA_TABLE_NOT_FOUND
from dm.schema import charsets
from dm.schema._alter_table import TableChange, TrackError
from dm.schema.createtable import CreateTable
from dm.schema.ddl import (
    DDL,
    AlterDatabase,
    AlterTable,
    CreateDatabase,
    CreateIndexStmt,
    DropDatabase,
    DropIndexStmt,
    DropTables,
    Kind,
    RenameTables,
    TableName,
    parse,
)
from dm.schema.table import TableInfo

Key = tuple[str, str]


class SchemaTracker:
    def __init__(self, *, case_sensitive: bool = False, flavor: str = charsets.MARIADB,
                 server_charset: str = "utf8mb4", server_collation: str | None = None) -> None:
        self.case_sensitive = case_sensitive
        self.flavor = flavor
        self.server_default = charsets.resolve(server_charset, server_collation,
                                               charsets.Charset("utf8mb4", ""), flavor)
        self._tables: dict[Key, TableInfo] = {}
        self._versions: dict[Key, int] = {}
        self._databases: dict[str, charsets.Charset] = {}
        self._clock = 0

    # --- lookups ---------------------------------------------------------------------
    def key(self, schema: str, table: str = "") -> Key:
        if self.case_sensitive:
            return schema, table
        return schema.lower(), table.lower()

    def get(self, schema: str, table: str) -> TableInfo | None:
        return self._tables.get(self.key(schema, table))

    def version(self, schema: str, table: str) -> int:
        """The table's current version; 0 when it is not tracked."""
        return self._versions.get(self.key(schema, table), 0)

    def tables(self, schema: str | None = None) -> list[Key]:
        wanted = None if schema is None else self.key(schema)[0]
        return sorted(k for k in self._tables if wanted is None or k[0] == wanted)

    def database_charset(self, schema: str) -> charsets.Charset:
        """The database's default charset, or the server's when the database is unknown."""
        return self._databases.get(self.key(schema)[0], self.server_default)

    # --- direct changes --------------------------------------------------------------
    def put(self, info: TableInfo) -> Key:
        key = self.key(info.schema, info.table)
        self._store(replace(info, schema=key[0], table=key[1]))
        return key

    def remove(self, schema: str, table: str) -> bool:
        key = self.key(schema, table)
        self._versions.pop(key, None)
        return self._tables.pop(key, None) is not None

    def set_server_default(self, charset: str | None, collation: str | None = None) -> None:
        """The upstream session's server charset, which a CREATE DATABASE without one gets
        (a query event logs it)."""
        self.server_default = charsets.resolve(charset, collation, self.server_default,
                                               self.flavor)

    def set_database(self, schema: str, charset: str | None = None,
                     collation: str | None = None) -> None:
        self._databases[self.key(schema)[0]] = charsets.resolve(
            charset, collation, self.server_default, self.flavor)

    def to_json(self, schema: str, table: str) -> str:
        info = self.get(schema, table)
        if info is None:
            raise SCHEMA_TABLE_NOT_FOUND(table=TableName(schema, table).quoted())
        return info.to_json()

    @staticmethod
    def from_json(text: str, table: str) -> TableInfo:
        """A TableInfo saved by `to_json` (the checkpoint's table_info); `table` names it in
        the error when the text is not one."""
        try:
            return TableInfo.from_json(text)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SCHEMA_INVALID_JSON(exc, table=table) from None

    # --- DDL -------------------------------------------------------------------------
    def apply(self, statement: str, current_db: str) -> list[Key]:
        """Replay one query-event statement; the (schema, table) keys it changed, created or
        dropped. Statements that are not DDL, or DM's built-in skips, change nothing."""
        return self.apply_ddl(parse(statement, current_db, flavor=self.flavor))

    def apply_ddl(self, ddl: DDL) -> list[Key]:
        """`apply` for a statement the caller has already parsed."""
        if ddl.kind is not Kind.DDL:
            return []
        try:
            return self._apply(ddl)
        except TrackError as exc:
            raise SCHEMA_CANNOT_TRACK_DDL(str(exc), sql=ddl.sql) from None

    def _apply(self, ddl: DDL) -> list[Key]:
        st = ddl.statement
        if isinstance(st, CreateDatabase):
            db = self.key(ddl.table.schema)[0]
            if db not in self._databases or not st.if_not_exists:
                self.set_database(db, st.charset, st.collation)
            return []
        if isinstance(st, AlterDatabase):
            db = self.key(ddl.table.schema)[0]
            self._databases[db] = charsets.resolve(st.charset, st.collation,
                                                   self.database_charset(db), self.flavor)
            return []
        if isinstance(st, DropDatabase):
            db = self.key(ddl.table.schema)[0]
            self._databases.pop(db, None)
            dropped = self.tables(db)
            for key in dropped:
                self.remove(*key)
            return dropped
        if isinstance(st, CreateTable):
            return self._create(ddl, st)
        if isinstance(st, DropTables):
            dropped = [self.key(t.schema, t.table) for t in ddl.tables]
            return [k for k in dropped if self.remove(*k)]
        if isinstance(st, RenameTables):
            return self._rename(ddl.tables)
        if isinstance(st, (AlterTable, CreateIndexStmt, DropIndexStmt)):
            return self._alter(ddl, st)
        return []  # TRUNCATE

    def _create(self, ddl: DDL, st: CreateTable) -> list[Key]:
        target = self.key(ddl.table.schema, ddl.table.table)
        if st.if_not_exists and target in self._tables:
            return []
        if st.like is not None:
            source = ddl.tables[1]
            info = self._need(source)
            self._store(replace(info, schema=target[0], table=target[1]))
        else:
            default = self.database_charset(target[0])
            self._store(st.build(target[0], target[1], default, self.flavor))
        return [target]

    def _rename(self, tables: tuple[TableName, ...]) -> list[Key]:
        changed: list[Key] = []
        for old, new in zip(tables[::2], tables[1::2], strict=True):
            info = self._need(old)
            self.remove(old.schema, old.table)
            changed += [self.key(old.schema, old.table), self.put(
                replace(info, schema=new.schema, table=new.table))]
        return changed

    def _alter(self, ddl: DDL, st: AlterTable | CreateIndexStmt | DropIndexStmt) -> list[Key]:
        info = self._need(ddl.table)
        change = TableChange(info, self.flavor)
        change.apply(st)
        old = self.key(info.schema, info.table)
        new = self.key(*change.name) if change.name else old
        if new != old:
            self.remove(*old)
            self.put(replace(change.result(), schema=new[0], table=new[1]))
            return [old, new]
        self._store(change.result())
        return [old]

    def _need(self, name: TableName) -> TableInfo:
        info = self.get(name.schema, name.table)
        if info is None:
            raise SCHEMA_TABLE_NOT_FOUND(table=name.quoted())
        return info

    def _store(self, info: TableInfo) -> None:
        key = (info.schema, info.table)
        self._clock += 1
        self._tables[key] = info
        self._versions[key] = self._clock
