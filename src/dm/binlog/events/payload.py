"""TRANSACTION_PAYLOAD (MySQL 8.0.20+): one transaction's events, usually zstd-compressed.

The inner events are read back one at a time from a streaming decompressor, so memory holds
one chunk of output and one event, never the whole uncompressed transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from dm.binlog.events._wire import U32, packed_int
from dm.binlog.events.base import HEADER_LEN, Event, EventHeader

COMPRESSION_ZSTD, COMPRESSION_NONE = 0, 255
_END_MARK, _PAYLOAD_SIZE, _COMPRESSION_TYPE, _UNCOMPRESSED_SIZE = 0, 1, 2, 3
READABLE = frozenset({COMPRESSION_ZSTD, COMPRESSION_NONE})
MAX_INNER_EVENT = 1 << 30  # max_allowed_packet's ceiling: no server writes a bigger event
_CHUNK = 1 << 20
_UNKNOWN_SIZE = 1 << 62  # no size in the header (MySQL always writes one)


class PayloadError(ValueError):
    """The payload does not hold what its header says (a corrupt or truncated payload)."""


@dataclass(slots=True)
class TransactionPayloadEvent(Event):
    compression: int
    payload_size: int
    uncompressed_size: int
    payload: bytes

    @property
    def compression_name(self) -> str:
        return {COMPRESSION_ZSTD: "zstd", COMPRESSION_NONE: "none"}.get(
            self.compression, f"type {self.compression}")


def parse_transaction_payload(header: EventHeader, buf: bytes, start: int,
                              end: int) -> TransactionPayloadEvent:
    pos = start
    fields = {_PAYLOAD_SIZE: 0, _COMPRESSION_TYPE: COMPRESSION_NONE, _UNCOMPRESSED_SIZE: 0}
    while pos < end:
        kind, pos = packed_int(buf, pos)
        if kind == _END_MARK:
            break
        length, pos = packed_int(buf, pos)
        fields[kind] = packed_int(buf, pos)[0]
        pos += length
    size = fields[_PAYLOAD_SIZE] or end - pos
    return TransactionPayloadEvent(header, fields[_COMPRESSION_TYPE], size,
                                   fields[_UNCOMPRESSED_SIZE], bytes(buf[pos:pos + size]))


def _open(event: TransactionPayloadEvent) -> BinaryIO:
    if event.compression == COMPRESSION_ZSTD:
        return zstandard.ZstdDecompressor().stream_reader(event.payload,
                                                          read_across_frames=True)
    if event.compression == COMPRESSION_NONE:
        return io.BytesIO(event.payload)
    raise PayloadError(f"unknown compression {event.compression_name}")


class _Output:
    """Decompressed bytes, read ahead in chunks; never more than the header's size."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit  # the uncompressed size the header announced
        self._buf = b""
        self._pos = 0
        self.total = 0  # bytes taken from the decompressor so far

    def take(self, n: int) -> bytes:
        """Exactly n bytes, or fewer only where the output ends."""
        while len(self._buf) - self._pos < n:
            want = max(_CHUNK, n - (len(self._buf) - self._pos))
            more = self._read(min(want, self._limit - self.total + 1))
            if not more:
                break
            self._buf = self._buf[self._pos:] + more
            self._pos = 0
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def _read(self, n: int) -> bytes:
        try:
            more = self._source.read(n)
        except zstandard.ZstdError as exc:
            raise PayloadError(f"zstd: {exc}") from exc
        self.total += len(more)
        if self.total > self._limit:
            raise PayloadError(f"decompresses to more than the {self._limit} bytes its "
                               f"header announces")
        return more


def inner_events(event: TransactionPayloadEvent) -> Iterator[bytes]:
    """The bytes of each event inside the payload, in order (they carry no checksums)."""
    out = _Output(_open(event), event.uncompressed_size or _UNKNOWN_SIZE)
    done = 0
    while True:
        head = out.take(HEADER_LEN)
        if not head:
            break
        size = U32(head, 9)[0] if len(head) == HEADER_LEN else 0
        if not HEADER_LEN <= size <= MAX_INNER_EVENT:
            raise PayloadError(f"inner event at offset {done} has "
                               f"{'a short header' if not size else f'size {size}'}")
        body = out.take(size - HEADER_LEN)
        if len(body) != size - HEADER_LEN:
            raise PayloadError(f"inner event at offset {done} is cut off: "
                               f"{HEADER_LEN + len(body)} of {size} bytes")
        done += size
        yield head + body
    if event.uncompressed_size and done != event.uncompressed_size:
        raise PayloadError(f"{done} bytes of events, the header announces "
                           f"{event.uncompressed_size}")
