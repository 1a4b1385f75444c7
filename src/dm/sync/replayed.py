"""A rename that ran downstream before a crash, read again: RENAME TABLE finds its old
table gone (1146), CHANGE / RENAME COLUMN its old column (1054). Tolerated only when the
downstream shows the rename done (the new name there, the old one not); anything else
is still the error it is."""

from __future__ import annotations

from collections.abc import Callable

import pymysql

from dm.db import qualified
from dm.schema import alter
from dm.schema.ddl import DDL, AlterTable

ER_BAD_FIELD_ERROR, ER_NO_SUCH_TABLE = 1054, 1146
Route = Callable[[str, str], tuple[str, str]]


def rename_done(cur: pymysql.cursors.Cursor, one: DDL, errno: int, route: Route) -> bool:
    if errno == ER_NO_SUCH_TABLE and one.events == ("rename table",) and len(one.tables) == 2:
        old, new = (route(t.schema, t.table) for t in one.tables)
        return not _table_exists(cur, old) and _table_exists(cur, new)
    if errno == ER_BAD_FIELD_ERROR and isinstance(one.statement, AlterTable) and \
            len(one.statement.specs) == 1:
        names = _renamed_column(one.statement.specs[0].action)
        if names is not None:
            columns = _columns(cur, route(one.table.schema, one.table.table))
            return names[0].lower() not in columns and names[1].lower() in columns
    return False


def _renamed_column(action: alter.Action) -> tuple[str, str] | None:
    if isinstance(action, alter.RenameColumn):
        return action.old, action.new
    if isinstance(action, alter.ChangeColumn) and \
            action.old.lower() != action.column.column.name.lower():
        return action.old, action.column.column.name
    return None


def _table_exists(cur: pymysql.cursors.Cursor, table: tuple[str, str]) -> bool:
    return bool(cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                            "AND TABLE_NAME = %s", table))


def _columns(cur: pymysql.cursors.Cursor, table: tuple[str, str]) -> set[str]:
    cur.execute(f"SHOW COLUMNS FROM {qualified(*table)}")
    return {str(row[0]).lower() for row in cur.fetchall()}
