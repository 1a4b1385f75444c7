"""MariaDB's own decoder (`mariadb-binlog -v`) as an oracle: its rows, and our values
rendered the way it prints them."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from dm.binlog.rows import ColumnSpec
from dm.binlog.rows.coltypes import ColumnType as T

MARIADB_BINLOG = shutil.which("mariadb-binlog") or "/usr/bin/mariadb-binlog"
_VERBS = ("### INSERT INTO", "### UPDATE", "### DELETE FROM")


def oracle_rows(path: Path, scratch: Path) -> list[tuple[str, str, list[str]]]:
    """(verb, table, values as printed) for every row image, in order (an UPDATE gives
    two images: WHERE, then SET)."""
    if path.suffix == ".gz":
        plain = scratch / path.stem
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        path = plain
    out = subprocess.run([MARIADB_BINLOG, "--no-defaults", "-v", "--base64-output=decode-rows",
                          str(path)], capture_output=True, check=True).stdout
    images: list[tuple[str, str, list[str]]] = []
    verb = table = ""
    for raw in out.split(b"\n"):
        line = raw.decode("latin-1")
        if line.startswith(_VERBS):
            verb, table = line[4:].rsplit(" ", 1)
        elif line in ("### SET", "### WHERE"):
            images.append((verb, table, []))
        elif line.startswith("###   @"):
            images[-1][2].append(line.split("=", 1)[1])
    return images


def _quoted(data: bytes) -> str:
    out = []
    for b in data:
        if b >= 0x20:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "'" + "".join(out) + "'"


def render(value: Any, spec: ColumnSpec) -> str:
    """Our value as `mariadb-binlog -v` prints it (no schema: ENUM/SET as numbers)."""
    if value is None:
        return "NULL"
    if spec.type in (T.TIMESTAMP, T.TIMESTAMP2) and isinstance(value, datetime):
        secs = int((value - datetime(1970, 1, 1)).total_seconds())
        return str(secs) if not value.microsecond else f"{secs}.{value.microsecond:06d}"
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, date):
        return f"'{value:%Y:%m:%d}'"
    if isinstance(value, timedelta):
        secs = int(value.total_seconds())
        return f"'{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}'"
    if spec.type == T.SET and isinstance(value, int):
        return "b'" + format(value, f"0{8 * (spec.meta & 0xFF)}b") + "'"
    if isinstance(value, bytes):
        return _quoted(value)
    if isinstance(value, str):
        return _quoted(value.encode("utf-8"))
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # compare floats by value: the tool's %g-style text differs
    raise TypeError(type(value))
