"""The relay log read as a binlog stream: what the sync unit reads instead of the
upstream when the source's relay is on (DM's local streamer).

It offers what the sync reader uses of a replica connection (`start_at`, `events`,
`ready`), decoding the relay files with the same decoder. It follows the
files as the relay writes them: an event is read only once it is whole on disk, a
file's ROTATE leads to the next file, and an idle relay yields a heartbeat naming where
its end is, as an idle upstream does.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from typing import BinaryIO

from dm import errors
from dm.binlog.events import Event, EventDecoder, HeartbeatEvent, RotateEvent
from dm.binlog.events.base import HEADER, HEADER_LEN, LOG_EVENT_ARTIFICIAL_F, EventHeader
from dm.binlog.events.codes import EventType
from dm.binlog.events.file import BINLOG_MAGIC
from dm.binlog.events.payload import TransactionPayloadEvent
from dm.binlog.location import Location
from dm.binlog.rows.schema import SchemaProvider
from dm.relay.layout import RelayDir, SubDir
from dm.relay.writer import LOG_EVENT_IGNORABLE_F

_CHUNK = 1 << 20
_U32 = struct.Struct("<I").unpack_from
_POLL_MIN, _POLL_MAX = 0.001, 0.05  # seconds between looks at a file that has not grown
_HEARTBEAT = 1.0  # seconds idle before a heartbeat


class RelayStream:
    """One reader of a source's relay directory; not thread-safe."""

    def __init__(self, relay: RelayDir, source: str,
                 schema_provider: SchemaProvider | None = None) -> None:
        self.relay = relay
        self.source = source
        self.decoder = EventDecoder(schema_provider)
        self._sub: SubDir | None = None
        self._file = ""
        self._pos = 0
        self._in: BinaryIO | None = None
        self._buf = b""  # bytes read from the file; _pos is at _buf[_at]
        self._at = 0
        self._read_end = 0

    # --- where ---------------------------------------------------------------------------
    def start_at(self, location: Location) -> None:
        """Stream from `location`'s file and position, which the relay must hold (or
        will: a file the relay has not reached yet is waited for)."""
        sub = self.relay.find(location)
        if sub is None:
            sub = self._not_yet_relayed(location)
        self._open(sub, location.file, location.pos)

    def _not_yet_relayed(self, location: Location) -> SubDir:
        """The sub-directory the relay will write `location.file` to; an error when it
        is older than anything the relay holds (purged, or the relay began after it)."""
        sub = self.relay.current()
        if sub is None or not relay_holds(self.relay, location):
            current = self.relay.current()
            files = current.binlog_files() if current is not None else []
            held = f"{current.name}/{files[0]} to {files[-1]}" if current and files else \
                "nothing yet"
            raise errors.RELAY_NOT_HELD(source=self.source, location=location.short(),
                                        held=held)
        return sub

    def _open(self, sub: SubDir, name: str, pos: int) -> None:
        self.close()
        path = sub.path / name
        while not path.exists():  # the relay has not written it yet
            time.sleep(_POLL_MAX)
        f = open(path, "rb")  # noqa: SIM115 - kept open while it is read
        header = _read_exactly(f, len(BINLOG_MAGIC) + HEADER_LEN)
        if header[:4] != BINLOG_MAGIC:
            f.close()
            raise errors.BINLOG_BAD_FILE(path=str(path), detail="no binlog magic header")
        size = HEADER.unpack_from(header, 4)[3]
        self.decoder.file_name = name
        self.decoder.decode(header + _read_exactly(f, size - HEADER_LEN),  # how to read it
                            len(BINLOG_MAGIC))
        self._read_end = f.tell()  # the end of what was read: a cut under it matters
        f.seek(max(pos, len(BINLOG_MAGIC) + size))
        self._sub, self._file, self._pos, self._in = sub, name, f.tell(), f
        self._buf, self._at = b"", 0

    # --- reading ---------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        """Decoded events, for ever (the relay keeps writing); the events inside a
        TRANSACTION_PAYLOAD follow it. Runs once per event: the buffer is read inline."""
        decoder = self.decoder
        while True:
            buf, at = self._buf, self._at
            left = len(buf) - at
            if left < HEADER_LEN or left < _U32(buf, at + 9)[0]:
                if not self._read_more():
                    yield from self._wait()
                continue
            event = decoder.decode(buf, at)
            size = event.header[3]
            self._at = at + size
            self._pos += size
            kind = type(event)
            yield event
            if kind is RotateEvent:
                assert isinstance(event, RotateEvent)
                self._next_file(event.next_file, event.position)
            elif kind is TransactionPayloadEvent:
                assert isinstance(event, TransactionPayloadEvent)
                yield from decoder.expand(event)

    def _read_more(self) -> bool:
        """Whether more of the file was read into the buffer."""
        assert self._in is not None, "call start_at() first"
        more = self._in.read(_CHUNK)
        if more:
            self._buf, self._at = self._buf[self._at:] + more, 0
            self._read_end = self._in.tell()
        return bool(more)

    def _wait(self) -> Iterator[Event]:
        """Until the relay writes more: polls that grow further apart, and a heartbeat
        naming the relay's end every second, as an idle upstream sends. A relay that moved
        on to another upstream server's sub-directory is followed there (a ROTATE to its
        first file); one that cut the file under what was read makes the reader fail, so
        that its sync unit starts again from its checkpoint."""
        idle_since = time.monotonic()
        poll = _POLL_MIN
        while not self._read_more():
            self._check_not_cut()
            following = self._following_subdir()
            if following is not None and not self._read_more():
                first = _first_held(following)
                if first is not None and first.file:
                    yield RotateEvent(EventHeader(int(time.time()), EventType.ROTATE, 0,
                                                  HEADER_LEN, 0, LOG_EVENT_ARTIFICIAL_F),
                                      first.pos, first.file)
                    self._open(following, first.file, first.pos)
                    return
            time.sleep(poll)
            poll = min(poll * 2, _POLL_MAX)
            now = time.monotonic()
            if now - idle_since >= _HEARTBEAT:
                idle_since = now
                yield HeartbeatEvent(EventHeader(int(time.time()), EventType.HEARTBEAT, 0,
                                                 HEADER_LEN, 0, 0), self._file, self._pos)

    def _check_not_cut(self) -> None:
        assert self._in is not None
        size = os.fstat(self._in.fileno()).st_size
        if size < self._read_end:
            raise errors.RELAY_FILE(path=str(self._in.name),
                                    detail=f"the relay cut it at {size}, under what was read "
                                           f"({self._read_end}); the sync unit starts again "
                                           "from its checkpoint")

    def _following_subdir(self) -> SubDir | None:
        """The sub-directory after this one, once the relay writes there (this one is
        then finished: the relay never goes back to it)."""
        subs = self.relay.subdirs()
        names = [s.name for s in subs]
        if self._sub is None or self._sub.name not in names:
            return None
        at = names.index(self._sub.name)
        return subs[at + 1] if at + 1 < len(subs) else None

    def _buffered(self) -> bool:
        """Whether the next event is whole in the buffer."""
        buf, at = self._buf, self._at
        left = len(buf) - at
        return left >= HEADER_LEN and left >= _U32(buf, at + 9)[0]

    def _next_file(self, name: str, pos: int) -> None:
        sub = self._sub
        assert sub is not None
        self._open(sub, name, pos)

    def ready(self) -> bool:
        """Whether the next event is on disk already."""
        if self._buffered():
            return True
        return self._in is not None and os.fstat(self._in.fileno()).st_size > \
            self._pos + len(self._buf) - self._at

    def close(self) -> None:
        if self._in is not None:
            f, self._in = self._in, None
            f.close()

    def __enter__(self) -> RelayStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def relay_holds(relay: RelayDir, location: Location) -> bool:
    """Whether a stream can start at `location` in `relay`: in a file it holds, or in
    one it writes next; at or after the first event it holds (a relay that began in the
    middle of a file holds no event before that). Never without a file name."""
    if not location.file:
        return False
    sub = relay.find(location) or relay.current()
    first = _first_held(sub) if sub is not None else None
    return first is not None and not location < first


def relay_end(relay: RelayDir) -> Location | None:
    """Where the relay's newest file ends (None: no file yet)."""
    sub = relay.current()
    files = sub.binlog_files() if sub is not None else []
    if sub is None or not files:
        return None
    return Location(files[-1], (sub.path / files[-1]).stat().st_size)


def _first_held(sub: SubDir) -> Location | None:
    """The first event the sub-directory holds: its first file's first event past the
    FORMAT_DESCRIPTION (or past the hole the relay filled there), or where its meta says
    the relay starts when it holds no file yet."""
    files = sub.binlog_files()
    if not files:
        return sub.read_meta()
    with open(sub.path / files[0], "rb") as f:
        head = f.read(len(BINLOG_MAGIC) + HEADER_LEN)
        if len(head) < len(BINLOG_MAGIC) + HEADER_LEN:
            return Location(files[0], len(BINLOG_MAGIC))
        after_fde = len(BINLOG_MAGIC) + HEADER.unpack_from(head, len(BINLOG_MAGIC))[3]
        f.seek(after_fde)
        second = f.read(HEADER_LEN)
    if len(second) == HEADER_LEN:
        _, kind, _, _, log_pos, flags = HEADER.unpack_from(second)
        if kind == EventType.IGNORABLE and flags & LOG_EVENT_IGNORABLE_F:
            return Location(files[0], log_pos)
    return Location(files[0], len(BINLOG_MAGIC))


def _read_exactly(f: BinaryIO, n: int) -> bytes:
    """`n` bytes from `f`, waiting while the relay writes them."""
    data = f.read(n)
    while len(data) < n:
        time.sleep(_POLL_MAX)
        data += f.read(n - len(data))
    return data


__all__ = ["RelayStream", "relay_end", "relay_holds"]
