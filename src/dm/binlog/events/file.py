"""Read binlog files from disk (also gzip-compressed ones) through the event decoder."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

from dm.binlog.events.base import HEADER_LEN, Event
from dm.binlog.events.decoder import EventDecoder
from dm.binlog.events.payload import TransactionPayloadEvent
from dm.binlog.rows.schema import SchemaProvider
from dm.errors import BINLOG_BAD_FILE, BINLOG_TRUNCATED

BINLOG_MAGIC = b"\xfebin"
_U32 = struct.Struct("<I").unpack_from


def _read(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except OSError as exc:
        raise BINLOG_BAD_FILE(exc, path=str(path), detail=str(exc)) from exc


def read_binlog_file(path: str | Path, schema_provider: SchemaProvider | None = None, *,
                     start: int = 4, decoder: EventDecoder | None = None,
                     expand_payloads: bool = True,
                     allow_partial: bool = False) -> Iterator[Event]:
    """Every event of a binlog file, in order. Starting past 4 still decodes the
    FORMAT_DESCRIPTION first (it says how to read the rest) without yielding it.

    With `expand_payloads`, the events of each TRANSACTION_PAYLOAD follow it. A trailing
    partial event (a file still being written) is an error unless `allow_partial`."""
    path = Path(path)
    data = _read(path)
    if data[:4] != BINLOG_MAGIC:
        raise BINLOG_BAD_FILE(path=str(path), detail="no binlog magic header")
    name = path.name.removesuffix(".gz")
    dec = decoder or EventDecoder(schema_provider, file_name=name)
    dec.file_name = name
    pos = 4
    if start > 4:
        dec.decode(data, 4)
        pos = start
    n, decode = len(data), dec.decode
    while pos < n:
        size = _U32(data, pos + 9)[0] if n - pos >= HEADER_LEN else n
        if pos + size > n:
            if allow_partial:
                return
            raise BINLOG_TRUNCATED(where=f"{name}:{pos}",
                                   detail=f"{n - pos} bytes left at the end of the file")
        event = decode(data, pos)
        pos += size
        yield event
        if expand_payloads and type(event) is TransactionPayloadEvent:
            yield from dec.expand(event)
