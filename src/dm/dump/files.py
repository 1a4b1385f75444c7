"""The files of one dumped table, whichever tool wrote them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DONE_FILE = "dump.done"  # pydm's dump unit writes it last


@dataclass(frozen=True)
class DataFile:
    path: Path
    columns: tuple[str, ...] | None  # a pydm TSV chunk's columns; None: SQL statements


@dataclass
class DumpedTable:
    schema: str
    table: str
    schema_file: Path  # its CREATE TABLE
    files: list[DataFile] = field(default_factory=list)
    size: int = 0  # bytes of its data, known or estimated (0: not known)
