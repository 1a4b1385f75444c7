"""Where the binlog reader stands, and the last transaction boundary it passed.

Every event moves the read position; only a commit (XID, a COMMIT query, or a
standalone statement such as a DDL) moves the committed location, which is the
only location a checkpoint may store.
"""

from __future__ import annotations

from dm.binlog.events.base import Event
from dm.binlog.events.control import RotateEvent
from dm.binlog.events.gtid import GtidEvent, MariadbGtidEvent
from dm.binlog.location import Location


class BinlogPosition:
    def __init__(self, start: Location) -> None:
        self.read = start
        self.committed = start
        self._pending_gtid: str | None = None

    def see(self, event: Event) -> None:
        """Advance past `event` (call after handling it)."""
        if isinstance(event, RotateEvent):
            self.read = Location(event.next_file, event.position, self.read.gtid_set)
            return
        if isinstance(event, MariadbGtidEvent):
            self._pending_gtid = str(event.gtid)
        elif isinstance(event, GtidEvent):
            self._pending_gtid = event.gtid
        log_pos = event.header.log_pos
        if log_pos and not event.header.artificial:
            self.read = self.read.moved(log_pos)

    def commit(self) -> None:
        """The event just seen ended a transaction: its end is a safe resume point."""
        if self._pending_gtid is not None and self.read.gtid_set is not None:
            self.read = self.read.with_gtid(self._pending_gtid)
        self._pending_gtid = None
        self.committed = self.read
