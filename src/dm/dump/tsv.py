"""The chunk file format: LOAD DATA's default TSV, formatted by the upstream server itself.

Every value is the server's own text (or raw bytes) for the column, cast to BINARY so
no charset conversion ever happens; `\\`, TAB and LF are escaped and NULL is `\\N`.
FLOAT goes through DOUBLE so the value survives the round trip exactly.
"""

from __future__ import annotations

from dm.db import quote

# Types whose values may contain the escape, field or line characters.
_ESCAPED_TYPES = frozenset({
    "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "binary", "varbinary",
    "tinyblob", "blob", "mediumblob", "longblob", "enum", "set", "json", "bit",
})

LOAD_OPTIONS = ("CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                "LINES TERMINATED BY '\\n'")


def value_expr(column: str, data_type: str) -> str:
    """SQL giving one column's TSV field (bytes) for the current row."""
    expr = quote(column)
    if data_type == "float":
        expr = f"CAST({expr} AS DOUBLE)"
    expr = f"CAST({expr} AS BINARY)"
    if data_type in _ESCAPED_TYPES:
        expr = (f"REPLACE(REPLACE(REPLACE({expr}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), "
                f"'\\n', '\\\\n')")
    return f"IFNULL({expr}, '\\\\N')"


def row_expr(columns: list[tuple[str, str]]) -> str:
    """SQL giving one TSV line (without its LF) for the current row."""
    return "CONCAT_WS('\\t', " + ", ".join(value_expr(c, t) for c, t in columns) + ")"
