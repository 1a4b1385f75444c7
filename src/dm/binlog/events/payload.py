"""TRANSACTION_PAYLOAD (MySQL 8.0.20+): one transaction's events, usually zstd-compressed."""

from __future__ import annotations

from dataclasses import dataclass

from dm.binlog.events._wire import packed_int
from dm.binlog.events.base import Event, EventHeader

COMPRESSION_ZSTD, COMPRESSION_NONE = 0, 255
_END_MARK, _PAYLOAD_SIZE, _COMPRESSION_TYPE, _UNCOMPRESSED_SIZE = 0, 1, 2, 3


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
