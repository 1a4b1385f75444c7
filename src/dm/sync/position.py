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
    """Cheap per event: plain fields, a Location is only built when asked for."""

    def __init__(self, start: Location) -> None:
        self.file = start.file
        self.pos = start.pos
        self.gtid_set = start.gtid_set
        self.committed = start
        self._pending_gtid: str | None = None

    @property
    def read(self) -> Location:
        return Location(self.file, self.pos, self.gtid_set)

    def see(self, event: Event) -> None:
        """Advance past `event` (call after handling it)."""
        header = event.header
        if isinstance(event, RotateEvent):
            self.file, self.pos = event.next_file, event.position
            return
        if isinstance(event, MariadbGtidEvent):
            self._pending_gtid = str(event.gtid)
        elif isinstance(event, GtidEvent):
            self._pending_gtid = event.gtid
        if header.log_pos and not header.artificial:
            self.pos = header.log_pos

    def commit(self) -> None:
        """The event just seen ended a transaction: its end is a safe resume point."""
        if self._pending_gtid is not None and self.gtid_set is not None:
            self.gtid_set = self.gtid_set.add(self._pending_gtid)
        self._pending_gtid = None
        self.committed = self.read
