"""Where the binlog reader stands for the syncer, and the last transaction boundary passed.

Only a commit (XID, a COMMIT query, or a standalone statement such as a DDL) moves the
committed location, which is the only location a checkpoint may store.
"""

from __future__ import annotations

from dm.binlog.location import Location


class BinlogPosition:
    """Cheap per record: plain fields, a Location is built at commits and when asked."""

    def __init__(self, start: Location) -> None:
        self.file = start.file
        self.gtid_set = start.gtid_set
        self.committed = start
        self._table_rows: dict[tuple[str, str], int] = {}  # in the transaction being read

    def at(self, pos: int) -> Location:
        """The location of an event at `pos` in the current file."""
        return Location(self.file, pos, self.gtid_set)

    def number_rows(self, table: tuple[str, str], count: int) -> int:
        """The ordinal of the first of `count` rows of `table` among its rows in the
        transaction being read: with the transaction's GTID set, it names a row on any
        server that logged the transaction (a keyless table's exactly-once mark)."""
        first = self._table_rows.get(table, 0)
        self._table_rows[table] = first + count
        return first

    def rotate(self, file: str) -> None:
        self.file = file

    def commit(self, end_pos: int, gtid: str | None) -> None:
        """A transaction ending at `end_pos` (with `gtid`, if any) is a safe resume point."""
        if gtid is not None and self.gtid_set is not None:
            self.gtid_set = self.gtid_set.add(gtid)
        if self._table_rows:
            self._table_rows = {}
        self.committed = Location(self.file, end_pos, self.gtid_set)
