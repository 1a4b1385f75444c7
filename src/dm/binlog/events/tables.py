"""The table ids a binlog stream has mapped, each with its cached row decoders.

A TABLE_MAP precedes every rows event; when its bytes equal the previous one for that id
(the usual case) the parsed event and the compiled decoders are reused. The schema
provider is asked again at the first rows event after each TABLE_MAP, and decoders are
rebuilt when it answers with another schema or version.
"""

from __future__ import annotations

from dataclasses import dataclass

from dm.binlog.events._wire import bits_lsb_first
from dm.binlog.events.base import EventHeader
from dm.binlog.events.columns import resolve_columns
from dm.binlog.events.rows_event import event_where
from dm.binlog.events.table_map import TableMapEvent, parse_table_map
from dm.binlog.rows.codegen import ColumnSpec, RowsDecoder, build_rows_decoder
from dm.binlog.rows.schema import SchemaProvider, TableSchema
from dm.errors import BINLOG_NO_TABLE_MAP

_DecoderKey = tuple[bytes, bytes | None]
# Mappings kept; the server gives a table a new id whenever it reopens it, so a long
# stream sees ever more ids. A statement maps its tables just before its rows, so
# forgetting the oldest mapping only costs a re-parse.
_MAX_MAPPED = 4096


@dataclass(frozen=True, slots=True)
class BoundDecoder:
    """A compiled decoder for one table and one column-presence pattern (`table` is the
    first of the identical TABLE_MAP events that mapped it)."""

    table: TableMapEvent
    decode: RowsDecoder
    present: list[bool]
    present_after: list[bool] | None


class _Mapped:
    __slots__ = ("checked", "decoders", "event", "raw", "schema", "specs")

    def __init__(self, raw: bytes, event: TableMapEvent) -> None:
        self.raw = raw
        self.event = event
        self.checked = False
        self.schema: TableSchema | None = None
        self.specs: list[ColumnSpec] | None = None
        self.decoders: dict[_DecoderKey, BoundDecoder] = {}


class TableRegistry:
    def __init__(self, provider: SchemaProvider | None) -> None:
        self._provider = provider
        self._tables: dict[int, _Mapped] = {}

    def table_map(self, header: EventHeader, buf: bytes, start: int, end: int,
                  table_id_len: int) -> TableMapEvent:
        table_id = int.from_bytes(buf[start:start + table_id_len], "little")
        mapped = self._tables.get(table_id)
        if mapped is not None and len(mapped.raw) == end - start and \
                buf.startswith(mapped.raw, start):  # the usual case: mapped as before
            old = mapped.event
            mapped.checked = False
            mapped.event = TableMapEvent(header, old.table_id, old.flags, old.schema, old.table,
                                         old.column_types, old.column_metas, old.nullable,
                                         old.optional)
            return mapped.event
        raw = bytes(buf[start:end])
        event = parse_table_map(header, buf, start, end, table_id_len)
        self._tables.pop(table_id, None)
        if len(self._tables) >= _MAX_MAPPED:  # table ids only grow: forget the oldest map
            del self._tables[next(iter(self._tables))]
        self._tables[table_id] = _Mapped(raw, event)
        return event

    def decoder(self, table_id: int, present: bytes, present_after: bytes | None,
                file: str, header: EventHeader) -> BoundDecoder:
        mapped = self._tables.get(table_id)
        if mapped is None:
            raise BINLOG_NO_TABLE_MAP(where=event_where(file, header), table_id=table_id)
        if not mapped.checked:
            self._check_schema(mapped)
        key = (present, present_after)
        bound = mapped.decoders.get(key)
        if bound is None:
            bound = self._build(mapped, present, present_after)
            mapped.decoders[key] = bound
        return bound

    def _build(self, mapped: _Mapped, present: bytes,
               present_after: bytes | None) -> BoundDecoder:
        assert mapped.specs is not None
        n = mapped.event.column_count
        flags = bits_lsb_first(present, n)
        after = None if present_after is None else bits_lsb_first(present_after, n)
        fn = build_rows_decoder(mapped.specs, flags, after, mapped.event.label)
        return BoundDecoder(mapped.event, fn, flags, after)

    def _check_schema(self, mapped: _Mapped) -> None:
        ev = mapped.event
        schema: TableSchema | None = None
        if self._provider is not None:
            schema = self._provider(ev.schema, ev.table)
        if mapped.specs is None or not (schema is mapped.schema or schema == mapped.schema):
            mapped.specs = resolve_columns(ev, schema)
            mapped.schema = schema
            mapped.decoders.clear()
        mapped.checked = True

    def columns(self, table_id: int) -> list[ColumnSpec] | None:
        """The resolved columns of a mapped table (after its first rows were decoded)."""
        mapped = self._tables.get(table_id)
        return None if mapped is None else mapped.specs

    def clear(self) -> None:
        self._tables.clear()
