"""Row decoding: column types, charsets, per-table generated decoders, the caller's schema."""

from dm.binlog.rows.codegen import ABSENT, ColumnSpec, build_rows_decoder
from dm.binlog.rows.schema import ColumnInfo, SchemaProvider, TableSchema

__all__ = ["ABSENT", "ColumnInfo", "ColumnSpec", "SchemaProvider", "TableSchema",
           "build_rows_decoder"]
