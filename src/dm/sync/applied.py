"""`<meta-schema>.<task>_syncer_applied`: exactly-once marks for tables safe mode cannot
replay.

A table without a NOT NULL unique key has rows that nothing names: replaying its changes
after a crash duplicates an insert (REPLACE without a key is an INSERT), and a repeated
`DELETE ... LIMIT 1` removes a second identical row. So every change of such a table
runs in order on one applier (causality gives it the table as its only key), and each
applier transaction that writes such changes also records, per upstream table, where the
last of them was read: its rows event's location, with the GTID set before its
transaction, and the row's ordinal among the table's rows in that transaction. A restart
skips that table's changes up to its mark, and an applier that lost its connection at
COMMIT reads the mark to learn whether the commit happened. Marks are ordered as
locations are (by GTID set where there is one), so a mark saved on one server still
places the rows of another after the upstream switched to its replica. DM has no such
marks (its documented limitation: keyless tables may get duplicate rows after a
restart).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from pymysql.cursors import Cursor

from dm.binlog.location import Flavor, Location, parse_gtid_set
from dm.db import Connection, create_meta_table, qualified, query_all
from dm.sync.change import RowChange


class Mark(NamedTuple):
    """Where a row change was read: its rows event, and its ordinal among its table's rows
    in its transaction."""

    at: Location
    row: int

    def reaches(self, other: Mark) -> bool:
        """Whether this mark is `other`'s or past it."""
        if other.at < self.at:
            return True
        return not self.at < other.at and other.row <= self.row


Table = tuple[str, str]  # upstream (schema, table)


def last_marks(changes: Iterable[RowChange]) -> dict[Table, Mark]:
    """The last mark of each upstream table among changes in read order (the changes of
    tables with a NOT NULL unique key carry none)."""
    return {(c.table.schema, c.table.table): c.location for c in changes
            if c.location is not None}


class AppliedMarks:
    def __init__(self, meta_schema: str, task: str, source_id: str, flavor: Flavor) -> None:
        self.meta_schema = meta_schema
        self.name = f"{task}_syncer_applied"
        self.table = qualified(meta_schema, self.name)
        self.source_id = source_id
        self.flavor = flavor
        self._upsert = (  # a format string: '%' in the name doubled
            f"INSERT INTO {self.table.replace('%', '%%')} (`id`, `cp_schema`, `cp_table`, "
            "`binlog_name`, `binlog_pos`, `binlog_gtid`, `row_index`) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            "`binlog_name` = VALUES(`binlog_name`), `binlog_pos` = VALUES(`binlog_pos`), "
            "`binlog_gtid` = VALUES(`binlog_gtid`), `row_index` = VALUES(`row_index`)")

    def create(self, conn: Connection) -> None:
        create_meta_table(conn, self.meta_schema, self.table, """
                `id` VARCHAR(32) NOT NULL,
                `cp_schema` VARCHAR(128) NOT NULL,
                `cp_table` VARCHAR(128) NOT NULL,
                `binlog_name` VARCHAR(128) NOT NULL,
                `binlog_pos` INT UNSIGNED NOT NULL,
                `binlog_gtid` TEXT,
                `row_index` INT UNSIGNED NOT NULL,
                `update_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                PRIMARY KEY (`id`, `cp_schema`, `cp_table`)""")
        if not query_all(conn, "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                               "%s AND TABLE_NAME = %s AND COLUMN_NAME = 'binlog_gtid'",
                         (self.meta_schema, self.name)):
            # made by a pydm before marks had GTID sets: their row index, counted in its
            # event then, is taken as counted in its transaction (the same unless a
            # transaction wrote several rows events of the table)
            with conn.cursor() as cur:
                cur.execute(f"ALTER TABLE {self.table} ADD COLUMN `binlog_gtid` TEXT "
                            "AFTER `binlog_pos`")

    def _stored(self, conn: Connection, where: str, args: tuple[str, ...]
                ) -> dict[Table, Mark]:
        rows = query_all(conn, f"SELECT `cp_schema`, `cp_table`, `binlog_name`, `binlog_pos`, "
                               f"`binlog_gtid`, `row_index` FROM {self.table} WHERE {where}",
                         args)
        return {(str(s), str(t)): Mark(Location(str(name), int(pos), None if gtid is None else
                                                parse_gtid_set(str(gtid), self.flavor)),
                                       int(row))
                for s, t, name, pos, gtid, row in rows}

    def load(self, conn: Connection, after: Location) -> dict[Table, Mark]:
        """The marks beyond `after` (the checkpoint): older ones say nothing new."""
        marks = self._stored(conn, "`id` = %s", (self.source_id,))
        return {k: m for k, m in marks.items() if not m.at < after}

    def write(self, cur: Cursor, marks: dict[Table, Mark]) -> None:
        """Record `marks` in the caller's open transaction."""
        for (schema, table), mark in marks.items():
            gtid = None if mark.at.gtid_set is None else str(mark.at.gtid_set)
            cur.execute(self._upsert, (self.source_id, schema, table, mark.at.file, mark.at.pos,
                                       gtid, mark.row))

    def committed(self, conn: Connection, marks: dict[Table, Mark]) -> bool:
        """Whether a transaction that wrote `marks` committed: its first mark is stored,
        or a later one (a later transaction cannot commit before it)."""
        table, mark = next(iter(marks.items()))
        stored = self._stored(conn, "`id` = %s AND `cp_schema` = %s AND `cp_table` = %s",
                              (self.source_id, *table)).get(table)
        return stored is not None and stored.reaches(mark)

    def drop(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
