"""Where the event groups (transactions) of a binlog stream end, and their GTIDs.

The relay writes its meta only at a group's end, and a restart cuts the files back to
the last one, so a reader never meets half a transaction that the upstream might not
send again the same way.
"""

from __future__ import annotations

from dm.binlog.events import Event
from dm.binlog.events.codes import EventType
from dm.binlog.events.control import XidEvent
from dm.binlog.events.gtid import GtidEvent, MariadbGtidEvent
from dm.binlog.events.query import QueryEvent
from dm.binlog.location.position import AnyGTIDSet
from dm.core.transactions import Role, role_of, split_atomic_create_select

# the only events that open, end or name a group: the others need no decoding
GROUP_EVENTS = frozenset({EventType.QUERY, EventType.XID, EventType.XA_PREPARE,
                          EventType.GTID, EventType.MARIADB_GTID})


class Groups:
    """Feed it every group event in order; `ended` says the last one closed a group."""

    def __init__(self, gtid_set: AnyGTIDSet | None) -> None:
        self.gtid_set = gtid_set  # every group ended so far, when the stream has GTIDs
        self._gtid: str | None = None
        self._open = False

    def feed(self, event: Event) -> bool:
        """Whether `event` ends a group."""
        if isinstance(event, XidEvent) or event.header.type == EventType.XA_PREPARE:
            return self.end()
        if isinstance(event, MariadbGtidEvent):
            self._gtid, self._open = str(event.gtid), not event.standalone
        elif isinstance(event, GtidEvent):
            self._gtid = event.gtid
        elif isinstance(event, QueryEvent):
            role = role_of(event.query)
            if role is Role.BEGIN:
                self._open = True
            elif role is Role.END:
                return self.end()
            elif role is Role.STATEMENT:
                opens = split_atomic_create_select(event.query)[1]
                if not self._open and not opens:
                    return self.end()
                self._open = True
        return False

    def end(self) -> bool:
        """The open group ends (an XID, known without decoding it)."""
        if self._gtid is not None and self.gtid_set is not None:
            self.gtid_set = self.gtid_set.add(self._gtid)
        self._gtid, self._open = None, False
        return True
