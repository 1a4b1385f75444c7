"""Merge a TABLE_MAP with the caller's schema into the column list the row decoder needs.

The schema (from the schema tracker) wins; the TABLE_MAP's optional metadata fills in when
no schema is given and cross-checks names when both are present.
"""

from __future__ import annotations

from dm.binlog.events.table_map import OptionalMetadata, TableMapEvent
from dm.binlog.rows.charsets import charset_of_collation, text_decoder
from dm.binlog.rows.codegen import ColumnSpec
from dm.binlog.rows.coltypes import ColumnType, is_character_type, is_enum_or_set, real_type
from dm.binlog.rows.schema import ColumnInfo, TableSchema
from dm.errors import BINLOG_CHARSET_UNKNOWN, SYNC_COLUMN_COUNT_MISMATCH, SYNC_COLUMN_NAME_MISMATCH

_BINARY_TYPES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")


def _meta_charset(om: OptionalMetadata, i: int, name: str, table: str) -> str | None:
    if om.collations is None or om.collations[i] is None:
        return None
    coll = om.collations[i]
    charset = charset_of_collation(coll or 0)
    if charset is None:
        raise BINLOG_CHARSET_UNKNOWN(column=name, table=table, charset=f"(collation id {coll})")
    return charset


def _schema_charset(col: ColumnInfo) -> str | None:
    if col.charset is not None:
        return col.charset
    return "binary" if col.type_name.lower() in _BINARY_TYPES else None


def _meta_members(om: OptionalMetadata, i: int, charset: str | None) -> tuple[str, ...] | None:
    if om.members is None or om.members[i] is None:
        return None
    decode = text_decoder(charset or "utf8mb4") or text_decoder("utf8mb4")
    assert decode is not None
    return tuple(decode(m) for m in om.members[i] or ())


def _check(tm: TableMapEvent, schema: TableSchema) -> None:
    if len(schema.columns) != tm.column_count:
        raise SYNC_COLUMN_COUNT_MISMATCH(table=tm.label, binlog=tm.column_count,
                                         schema=len(schema.columns))
    names = tm.optional.names
    for i, col in enumerate(schema.columns):
        if names is not None and names[i].lower() != col.name.lower():
            raise SYNC_COLUMN_NAME_MISMATCH(table=tm.label, index=i + 1, binlog=names[i],
                                            schema=col.name)


_OLD_TEMPORALS = frozenset({ColumnType.TIME, ColumnType.DATETIME, ColumnType.TIMESTAMP})


def resolve_columns(tm: TableMapEvent, schema: TableSchema | None) -> list[ColumnSpec]:
    if schema is not None:
        _check(tm, schema)
    om = tm.optional
    specs = []
    for i, code in enumerate(tm.column_types):
        rtype, rmeta = real_type(code, tm.column_metas[i])
        col = schema.columns[i] if schema is not None else None
        name = col.name if col else om.names[i] if om.names else f"@{i + 1}"
        texty = is_character_type(code, tm.column_metas[i]) or is_enum_or_set(
            code, tm.column_metas[i])
        charset = None
        if texty:
            charset = _schema_charset(col) if col else _meta_charset(om, i, name, tm.label)
        members: tuple[str, ...] | None = None
        if rtype in (ColumnType.ENUM, ColumnType.SET):
            given = (col.enum_values if rtype == ColumnType.ENUM else col.set_values) if col else ()
            members = tuple(given) if given else _meta_members(om, i, charset)
        if rtype in _OLD_TEMPORALS and col is not None:
            rmeta = col.decimals  # MariaDB 5.3's format: the digits only the schema has
        unsigned = col.unsigned if col else bool(om.unsigned and om.unsigned[i])
        specs.append(ColumnSpec(name, rtype, rmeta, unsigned, charset, members,
                                col.type_name.lower() if col else ""))
    return specs
