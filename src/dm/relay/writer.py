"""Writes one upstream's binlog stream into relay files, at the upstream's own offsets.

Each relay file has the upstream file's name and every event sits at the offset it
has upstream, so a (file, position) checkpoint means the same place in both. A stream
that starts past a file's first events leaves a hole, filled with one IGNORABLE event
(as DM fills it with a dummy one); the stream's fake ROTATE and its heartbeats are not
written. `resume` cuts a torn tail (an event or a transaction not written whole when
the worker died) back to the last whole transaction, which the upstream then sends
again.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from dm import errors, metrics
from dm.binlog.events import (
    EventDecoder,
    MariadbGtidListEvent,
    PreviousGtidsEvent,
    RotateEvent,
)
from dm.binlog.events.base import (
    CHECKSUM_LEN,
    HEADER,
    HEADER_LEN,
    LOG_EVENT_ARTIFICIAL_F,
    LOG_EVENT_BINLOG_IN_USE_F,
)
from dm.binlog.events.codes import EventType
from dm.binlog.events.file import BINLOG_MAGIC
from dm.binlog.events.format_description import CHECKSUM_CRC32
from dm.binlog.location import Location, file_key
from dm.relay.groups import GROUP_EVENTS, Groups
from dm.relay.layout import SubDir

log = logging.getLogger(__name__)

LOG_EVENT_IGNORABLE_F = 0x80  # a reader that does not know the event skips it
_ROTATE, _FORMAT_DESCRIPTION, _XID = EventType.ROTATE.value, \
    EventType.FORMAT_DESCRIPTION.value, EventType.XID.value
_CONTROL = frozenset({_ROTATE, _FORMAT_DESCRIPTION, EventType.HEARTBEAT.value,
                      EventType.HEARTBEAT_V2.value})
_unpack_header = HEADER.unpack_from
_GTID_STATES = frozenset({EventType.MARIADB_GTID_LIST.value, EventType.PREVIOUS_GTIDS.value})
_FILE_EVENTS = _GTID_STATES | {EventType.ROTATE.value}
_BUFFER = 1 << 20


class RelayWriter:
    """Appends the stream's events to the sub-directory's files; not thread-safe."""

    def __init__(self, sub: SubDir, start: Location, checksum: bool) -> None:
        self.sub = sub
        self.decoder = EventDecoder(checksum=checksum)  # decodes group events only
        self.groups = Groups(start.gtid_set)
        self.committed = start  # the end of the last whole transaction in the files
        self.file = ""
        self.end = 0  # the size of the file being written
        self._out: BinaryIO | None = None
        self.events = 0  # written since start
        if start.file:  # else a stream started by GTID names it first
            self._switch(start.file, start.pos)

    @staticmethod
    def resume_point(sub: SubDir, meta: Location) -> Location:
        """Where to write on after `meta`: the files are cut back to the last whole
        transaction written, which may be past `meta` (the meta is written now and then).
        A meta with no file yet (a relay started by GTID) is where to start again."""
        if not meta.file:
            return meta
        for name in sub.binlog_files():  # written after the meta's file: never named by it
            if file_key(name) > file_key(meta.file):
                (sub.path / name).unlink()
        return _last_whole_transaction(sub.path / meta.file, meta)

    # --- events ------------------------------------------------------------------------
    def write(self, ev: memoryview) -> None:
        """One event as the upstream sent it (header, body, checksum). The common event
        is appended with no more than its header read: this runs once per event."""
        _, kind, _, size, log_pos, flags = _unpack_header(ev)
        if kind in _CONTROL:
            self._control(ev, kind, size, log_pos, flags)
            return
        if flags & LOG_EVENT_ARTIFICIAL_F or not log_pos:
            return
        start = log_pos - size
        if start < self.end:
            if log_pos <= self.end:
                return  # already written: the stream was started again before it
            raise errors.RELAY_GAP(file=self.file, pos=log_pos, end=self.end)
        self._append(ev, start, log_pos)
        if kind == _XID:
            self.groups.end()
            self.committed = Location(self.file, log_pos, self.groups.gtid_set)
        elif kind in GROUP_EVENTS and self.groups.feed(self.decoder.decode(bytes(ev))):
            self.committed = Location(self.file, log_pos, self.groups.gtid_set)
        elif kind in _GTID_STATES and self.groups.gtid_set is None:
            state = self.decoder.decode(bytes(ev))  # a file opens with the server's GTIDs
            assert isinstance(state, MariadbGtidListEvent | PreviousGtidsEvent)
            self.groups.gtid_set = state.gtid_set

    def _control(self, ev: memoryview, kind: int, size: int, log_pos: int,
                 flags: int) -> None:
        """ROTATE (the stream names its file, or a file ends), FORMAT_DESCRIPTION (the
        file's first event) and heartbeats (not written)."""
        if kind == _ROTATE:
            rotate = self.decoder.decode(bytes(ev))
            assert isinstance(rotate, RotateEvent)
            if log_pos and not flags & LOG_EVENT_ARTIFICIAL_F:  # the end of this file
                self._append(ev, log_pos - size, log_pos)
                self.committed = Location(rotate.next_file, rotate.position,
                                          self.groups.gtid_set)
            self._switch(rotate.next_file, rotate.position)
        elif kind == _FORMAT_DESCRIPTION:
            self.decoder.decode(bytes(ev))  # says whether events carry a checksum
            if self.end <= len(BINLOG_MAGIC):
                self._write_format_description(ev)

    def flush(self) -> None:
        """Everything written so far, to the OS (readers see it; a kill keeps it)."""
        if self._out is not None:
            self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            out, self._out = self._out, None
            out.close()

    # --- files -------------------------------------------------------------------------
    def _switch(self, name: str, pos: int) -> None:
        """Write `name` from `pos` on: what the file holds past `pos` is cut."""
        self.close()
        path = self.sub.path / name
        try:
            out = open(path, "r+b" if path.exists() else "w+b", buffering=_BUFFER)  # noqa: SIM115
            size = out.seek(0, os.SEEK_END)
            if size > pos:
                out.truncate(pos)
                size = out.seek(pos)
        except OSError as exc:
            raise errors.RELAY_FILE(exc, path=str(path), detail=str(exc)) from exc
        self._out, self.file, self.end = out, name, size

    def _append(self, ev: memoryview | bytes, start: int, end: int) -> None:
        out = self._out
        if out is None:
            raise errors.RELAY_FILE(path=str(self.sub.path),
                                    detail="an event came before the stream named its file")
        try:
            if start != self.end:  # a new file's magic, a hole: not the common case
                if self.end == 0:
                    out.write(BINLOG_MAGIC)
                    self.end = len(BINLOG_MAGIC)
                if start > self.end:
                    out.write(self._filler(start))
            out.write(ev)
        except OSError as exc:
            raise errors.RELAY_FILE(exc, path=str(self.sub.path / self.file),
                                    detail=str(exc)) from exc
        self.end = end
        self.events += 1

    def _write_format_description(self, ev: memoryview) -> None:
        """The file's FORMAT_DESCRIPTION, as a closed file has it: at offset 4, not
        marked in use (the stream's copy may say position 0 and in use)."""
        data = bytearray(ev)
        size = len(data)
        struct.pack_into("<I", data, 13, len(BINLOG_MAGIC) + size)
        flags = struct.unpack_from("<H", data, 17)[0] & ~LOG_EVENT_BINLOG_IN_USE_F
        struct.pack_into("<H", data, 17, flags)
        fde = self.decoder.fde
        if fde is not None and fde.checksum_alg == CHECKSUM_CRC32:
            struct.pack_into("<I", data, size - CHECKSUM_LEN, zlib.crc32(data[:-CHECKSUM_LEN]))
        self._append(bytes(data), len(BINLOG_MAGIC), len(BINLOG_MAGIC) + size)

    def _filler(self, start: int) -> bytes:
        """One IGNORABLE event from the file's end up to `start`."""
        size = start - self.end
        crc = self.decoder.fde is not None and self.decoder.fde.checksum_alg == CHECKSUM_CRC32
        if size < HEADER_LEN + (CHECKSUM_LEN if crc else 0):
            raise errors.RELAY_FILE(path=str(self.sub.path / self.file),
                                    detail=f"a hole of {size} bytes at {self.end} is too small "
                                           "for an event")
        body = bytes(size - HEADER_LEN - (CHECKSUM_LEN if crc else 0))
        event = HEADER.pack(0, EventType.IGNORABLE, 0, size, start,
                            LOG_EVENT_IGNORABLE_F) + body
        return event + struct.pack("<I", zlib.crc32(event)) if crc else event


def _last_whole_transaction(path: Path, meta: Location) -> Location:
    """Where the file's last whole transaction ends, the file cut there; a file ended by
    its ROTATE resumes at the next file's start. The scan starts at `meta` (a whole
    transaction's end, with its GTID set) when the file reaches it, else at the start,
    from the GTID state the file opens with."""
    try:
        with open(path, "r+b") as f:
            head = f.read(len(BINLOG_MAGIC) + HEADER_LEN)
            size = f.seek(0, os.SEEK_END)
            fde_end = len(head) == len(BINLOG_MAGIC) + HEADER_LEN and \
                len(BINLOG_MAGIC) + HEADER.unpack_from(head, 4)[3]
            if head[:4] != BINLOG_MAGIC or not fde_end or fde_end > size:
                f.truncate(0)  # not even its FORMAT_DESCRIPTION is whole
                return Location(meta.file, len(BINLOG_MAGIC), meta.gtid_set)
            resume = meta if len(BINLOG_MAGIC) < meta.pos <= size else \
                Location(meta.file, len(BINLOG_MAGIC), None)
            f.seek(len(BINLOG_MAGIC))
            fde = f.read(fde_end - len(BINLOG_MAGIC))
            last = _scan(f, path.name, fde, max(resume.pos, fde_end), resume)
            if last.file == meta.file and last.pos < size:
                log.info("relay file %s: cutting a torn tail at %d (%d bytes)", path,
                         last.pos, size - last.pos)
                f.truncate(last.pos)
            return last
    except FileNotFoundError:
        return meta
    except OSError as exc:
        raise errors.RELAY_FILE(exc, path=str(path), detail=str(exc)) from exc


def _scan(f: BinaryIO, name: str, fde: bytes, at: int, resume: Location) -> Location:
    """The end of the last whole transaction in the file from `at` on. Event by event:
    only the events that shape a transaction are read whole, the rest are skipped."""
    decoder = EventDecoder(file_name=name)
    decoder.decode(fde)
    groups = Groups(resume.gtid_set)
    last = Location(name, at, resume.gtid_set)
    end = f.seek(0, os.SEEK_END)
    pos = at
    while pos + HEADER_LEN <= end:
        f.seek(pos)
        header = f.read(HEADER_LEN)
        _, kind, _, size, _, _ = HEADER.unpack_from(header)
        if size < HEADER_LEN:  # no event header at all: the file is damaged there
            log.warning("relay file %s: no valid event at %d; cut there", name, pos)
            metrics.RELAY_CORRUPTION.inc()
            break
        if pos + size > end:
            break  # a torn event, written in part before a stop
        if kind in GROUP_EVENTS or kind in _FILE_EVENTS:
            event = decoder.decode(header + f.read(size - HEADER_LEN))
            if isinstance(event, RotateEvent):
                return Location(event.next_file, event.position, groups.gtid_set)
            if isinstance(event, MariadbGtidListEvent | PreviousGtidsEvent):
                groups.gtid_set = event.gtid_set  # the state the file opens with
            elif groups.feed(event):
                last = Location(name, pos + size, groups.gtid_set)
        pos += size
    return last
