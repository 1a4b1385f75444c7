"""The event header every binlog event starts with, and the base and pass-through events."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

HEADER_LEN = 19
CHECKSUM_LEN = 4
HEADER = struct.Struct("<IBIIIH")

LOG_EVENT_BINLOG_IN_USE_F = 0x01  # FORMAT_DESCRIPTION of a file not closed yet
LOG_EVENT_ARTIFICIAL_F = 0x20  # made up by the sender (the fake ROTATE at stream start)


class EventHeader(NamedTuple):
    timestamp: int
    type: int
    server_id: int
    event_size: int
    log_pos: int  # position of the next event in the binlog file; 0 for artificial events
    flags: int

    @property
    def artificial(self) -> bool:
        return bool(self.flags & LOG_EVENT_ARTIFICIAL_F)


@dataclass(slots=True)
class Event:
    """Base of every decoded event."""

    header: EventHeader


@dataclass(slots=True)
class UnknownEvent(Event):
    """An event type this decoder does not interpret, kept as raw bytes (body, no checksum)."""

    body: bytes
