"""FORMAT_DESCRIPTION: the first event of every binlog; says how later events are laid out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dm.binlog.events._wire import U16, U32
from dm.binlog.events.base import Event, EventHeader
from dm.binlog.location.gtid import Flavor

CHECKSUM_OFF = 0
CHECKSUM_CRC32 = 1
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


def _checksum_capable(server_version: str) -> bool:
    m = _VERSION.match(server_version)
    if not m:
        return False
    version = tuple(int(g) for g in m.groups())
    if "mariadb" in server_version.lower():
        return version >= (5, 3, 0)
    return version >= (5, 6, 1)


@dataclass(slots=True)
class FormatDescriptionEvent(Event):
    binlog_version: int
    server_version: str
    create_timestamp: int
    header_length: int
    post_header_lengths: bytes  # index: event type - 1
    checksum_alg: int  # CHECKSUM_OFF or CHECKSUM_CRC32

    @property
    def flavor(self) -> Flavor:
        return Flavor.MARIADB if "mariadb" in self.server_version.lower() else Flavor.MYSQL

    def post_header_length(self, event_type: int) -> int:
        if 0 < event_type <= len(self.post_header_lengths):
            return self.post_header_lengths[event_type - 1]
        return 0


def parse_format_description(header: EventHeader, buf: bytes, start: int,
                             end: int) -> FormatDescriptionEvent:
    """Decode the body in buf[start:end] (`end` is the end of the whole event, checksum
    included: whether a checksum is present is only known once this body is read)."""
    version = bytes(buf[start + 2:start + 52]).split(b"\0", 1)[0].decode("ascii", "replace")
    header_length = buf[start + 56]
    types_end = end
    alg = CHECKSUM_OFF
    if _checksum_capable(version):
        alg = buf[end - 5]
        types_end = end - 5
    return FormatDescriptionEvent(
        header,
        binlog_version=U16(buf, start)[0],
        server_version=version,
        create_timestamp=U32(buf, start + 52)[0],
        header_length=header_length,
        post_header_lengths=bytes(buf[start + 57:types_end]),
        checksum_alg=alg,
    )
