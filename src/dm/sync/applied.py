"""`<meta-schema>.<task>_syncer_applied`: exactly-once marks for tables safe mode cannot
replay.

A table without a NOT NULL unique key has rows that nothing names: replaying its changes
after a crash duplicates an insert (REPLACE without a key is an INSERT), and a repeated
`DELETE ... LIMIT 1` removes a second identical row. So every change of such a table
runs in order on one applier (causality gives it the table as its only key), and each
applier transaction that writes such changes also records, per upstream table, where the
last of them was read: its transaction's GTID, its rows event's location (with the GTID
set before the transaction) and the row's ordinal among the table's rows in that
transaction. A restart skips that table's changes up to its mark, and an applier that
lost its connection at COMMIT reads the mark to learn whether the commit happened. With
GTIDs a mark places a transaction by its GTID: the mark's own, or one in the set before
it, was applied; any other was not, whatever order another server logged them in (a
promoted replica after an upstream switch, several GTID domains). Without GTIDs, by file
and position. DM has no such marks (its documented limitation: keyless tables may get
duplicate rows after a restart).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from pymysql.cursors import Cursor

from dm.binlog.location import Flavor, Location, holds_gtid, parse_gtid_set
from dm.db import Connection, create_meta_table, qualified, query_all
from dm.sync.change import RowChange


class Mark(NamedTuple):
    """Where a row change was read: its rows event, its ordinal among its table's rows in
    its transaction, and the transaction's GTID (None without GTIDs)."""

    at: Location
    row: int
    gtid: str | None = None

    def place(self, at: Location, gtid: str | None) -> int:
        """Where the rows event read at `at` in transaction `gtid` stands: -1 applied, 0
        in the mark's transaction (the rows' ordinals decide), 1 not applied."""
        if gtid is not None and self.gtid is not None and self.at.gtid_set is not None:
            if gtid == self.gtid:
                return 0
            before = holds_gtid(self.at.gtid_set, gtid)
            if before is not None:
                return -1 if before else 1
        if at < self.at:
            return -1
        return 1 if self.at < at else 0

    def reaches(self, other: Mark) -> bool:
        """Whether this mark is `other`'s or past it."""
        place = self.place(other.at, other.gtid)
        return place < 0 or (place == 0 and other.row <= self.row)

    def passed(self, checkpoint: Location) -> bool:
        """Whether a checkpoint at `checkpoint` is past the mark's transaction: the mark
        then says nothing the checkpoint does not."""
        if self.gtid is not None and checkpoint.gtid_set is not None:
            held = holds_gtid(checkpoint.gtid_set, self.gtid)
            if held is not None:
                return held
        return self.at < checkpoint


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
            "`binlog_name`, `binlog_pos`, `binlog_gtid`, `row_index`, `txn_gtid`) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            "`binlog_name` = VALUES(`binlog_name`), `binlog_pos` = VALUES(`binlog_pos`), "
            "`binlog_gtid` = VALUES(`binlog_gtid`), `row_index` = VALUES(`row_index`), "
            "`txn_gtid` = VALUES(`txn_gtid`)")

    def create(self, conn: Connection) -> None:
        create_meta_table(conn, self.meta_schema, self.table, """
                `id` VARCHAR(32) NOT NULL,
                `cp_schema` VARCHAR(128) NOT NULL,
                `cp_table` VARCHAR(128) NOT NULL,
                `binlog_name` VARCHAR(128) NOT NULL,
                `binlog_pos` INT UNSIGNED NOT NULL,
                `binlog_gtid` TEXT,
                `row_index` INT UNSIGNED NOT NULL,
                `txn_gtid` VARCHAR(255),
                `update_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                PRIMARY KEY (`id`, `cp_schema`, `cp_table`)""")
        present = {str(r[0]).lower() for r in query_all(
            conn, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                  "AND TABLE_NAME = %s", (self.meta_schema, self.name))}
        # made by a pydm before marks had GTIDs: its marks keep their file and position,
        # and their row index, counted in its event then, is taken as counted in its
        # transaction (the same unless a transaction wrote several rows events of the table)
        missing = [f"ADD COLUMN {definition}" for name, definition in (
            ("binlog_gtid", "`binlog_gtid` TEXT AFTER `binlog_pos`"),
            ("txn_gtid", "`txn_gtid` VARCHAR(255) AFTER `row_index`")) if name not in present]
        if missing:
            with conn.cursor() as cur:
                cur.execute(f"ALTER TABLE {self.table} {', '.join(missing)}")

    def _stored(self, conn: Connection, where: str, args: tuple[str, ...]
                ) -> dict[Table, Mark]:
        rows = query_all(conn, f"SELECT `cp_schema`, `cp_table`, `binlog_name`, `binlog_pos`, "
                               f"`binlog_gtid`, `row_index`, `txn_gtid` FROM {self.table} "
                               f"WHERE {where}", args)
        return {(str(s), str(t)): Mark(Location(str(name), int(pos), None if gtid is None else
                                                parse_gtid_set(str(gtid), self.flavor)),
                                       int(row), None if txn is None else str(txn))
                for s, t, name, pos, gtid, row, txn in rows}

    def load(self, conn: Connection, after: Location) -> dict[Table, Mark]:
        """The marks beyond `after` (the checkpoint): older ones say nothing new."""
        marks = self._stored(conn, "`id` = %s", (self.source_id,))
        return {k: m for k, m in marks.items() if not m.passed(after)}

    def write(self, cur: Cursor, marks: dict[Table, Mark]) -> None:
        """Record `marks` in the caller's open transaction."""
        for (schema, table), mark in marks.items():
            gtid = None if mark.at.gtid_set is None else str(mark.at.gtid_set)
            cur.execute(self._upsert, (self.source_id, schema, table, mark.at.file, mark.at.pos,
                                       gtid, mark.row, mark.gtid))

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
