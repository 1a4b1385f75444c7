"""What a dump directory holds, whoever wrote it: pydm's dump unit, mydumper or dumpling.

pydm's own dumps are read from their plan (TSV chunks of known columns). Dumps of
mydumper and dumpling are read from their file names, as DM's loader does:
`<db>-schema-create.sql`, `<db>.<table>-schema.sql` and data files `<db>.<table>.sql` or
`<db>.<table>.<n>.sql` of INSERT statements. Files pydm cannot load faithfully (views,
triggers, routines, CSV, compressed files) are refused by name, never skipped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dm import errors
from dm.core.schemas import taken
from dm.dump.files import DONE_FILE, DataFile, DumpedTable
from dm.dump.metadata import METADATA_FILE
from dm.dump.plan import PLAN_FILE, DumpPlan, database_file, schema_file
from dm.dump.sqlfile import statements

log = logging.getLogger(__name__)

_DATABASE = re.compile(r"(?P<db>[^.]+)-schema-create\.sql")
_TABLE = re.compile(r"(?P<db>[^.]+)\.(?P<table>.+)-schema\.sql")
_DATA = re.compile(r"(?P<db>[^.]+)\.(?P<table>.+?)(?:\.(?P<n>\d+))?\.sql")
_NAMES = r"(?P<db>[^.]+?)(?:-schema-create|\.(?P<table>.+?)(?:-schema|\.\d+)?)"
_REFUSED = ((re.compile(r"(?P<db>[^.]+)\.(?P<table>.+)-schema-view\.sql"), "a view"),
            (re.compile(r"(?P<db>[^.]+)\.(?P<table>.+)-schema-triggers\.sql"), "triggers"),
            (re.compile(r"(?P<db>[^.]+)-schema-post\.sql"), "routines or events"),
            (re.compile(_NAMES + r"\.(?:csv|parquet)"), "a CSV or Parquet data file"),
            (re.compile(_NAMES + r"\.(?:sql|csv)\.(?:gz|zst|snappy|lz4|bz2|xz)"),
             "a compressed file"))


@dataclass
class DumpDirectory:
    path: Path
    databases: dict[str, Path]  # each dumped database's CREATE DATABASE file
    tables: list[DumpedTable]

    @property
    def metadata(self) -> Path:
        return self.path / METADATA_FILE

    @classmethod
    def read(cls, path: Path, allows: Callable[[str, str], bool]) -> DumpDirectory:
        """The allowed tables of the dump in `path` (34014 if it holds no dump)."""
        if not path.is_dir():
            raise errors.LOAD_DUMP_DIR(path=str(path))
        if (path / PLAN_FILE).exists():
            return cls._read_pydm(path, allows)
        return cls._read_sql(path, allows)

    @classmethod
    def _read_pydm(cls, path: Path, allows: Callable[[str, str], bool]) -> DumpDirectory:
        plan = DumpPlan.load(path)
        if plan is None or not (path / DONE_FILE).exists():
            raise errors.LOAD_DUMP_UNFINISHED(path=str(path))
        tables = [t for t in plan.dumped_tables(path)
                  if taken(allows, t.schema, t.table)]
        databases = [d for d in plan.databases if taken(allows, d)]
        return cls(path, {d: path / database_file(d) for d in databases}, tables)

    @classmethod
    def _read_sql(cls, path: Path, allows: Callable[[str, str], bool]) -> DumpDirectory:
        databases: dict[str, Path] = {}
        tables: dict[tuple[str, str], DumpedTable] = {}
        data: list[tuple[str, str, int, Path]] = []
        for file in sorted(path.iterdir()):
            name = file.name
            if m := _DATABASE.fullmatch(name):
                if taken(allows, m["db"], ""):
                    databases[m["db"]] = file
            elif m := _TABLE.fullmatch(name):
                if taken(allows, m["db"], m["table"]):
                    tables[m["db"], m["table"]] = DumpedTable(m["db"], m["table"], file)
            elif refused := _refused(name):
                what, db, table = refused
                if taken(allows, db, table):
                    raise errors.LOAD_FILE_REFUSED(file=str(file), what=what)
            elif (m := _DATA.fullmatch(name)) and taken(allows, m["db"], m["table"]):
                data.append((m["db"], m["table"], int(m["n"] or 0), file))
        if not databases and not tables:
            raise errors.LOAD_DUMP_DIR(path=str(path))
        for db, table, _, file in sorted(data):
            owner = tables.get((db, table))
            if owner is None:
                raise errors.LOAD_NO_TABLE_FILE(file=str(file),
                                                schema_file=schema_file(db, table))
            owner.files.append(DataFile(file, None))
            owner.size += file.stat().st_size
        return cls(path, databases, list(tables.values()))


def _refused(file_name: str) -> tuple[str, str, str] | None:
    """What a file pydm does not load holds, and its database and table (or "")."""
    for rx, what in _REFUSED:
        if m := rx.fullmatch(file_name):
            return what, m["db"], m.groupdict().get("table") or ""
    return None


def schema_statements(path: Path) -> tuple[list[str], str]:
    """The session statements (SET ...) of a schema file and its CREATE statement."""
    sets: list[str] = []
    for raw, _ in statements(path):
        text = raw.decode("utf-8", "surrogateescape")
        if is_session_statement(raw):
            sets.append(text)
        elif re.match(r"CREATE\s+(?:DATABASE|SCHEMA|TABLE)\b", text, re.I):
            return sets, text
        else:
            break
    raise errors.LOAD_NOT_CREATE(file=str(path))


_SESSION = re.compile(rb"(?:/\*!\d*\s*)?SET\s", re.I)


def is_session_statement(statement: bytes) -> bool:
    """A `SET ...` (perhaps in a versioned comment) that dump files open with."""
    return _SESSION.match(statement) is not None


OWNER_FILE = "dump-task.json"  # which task and source a dump task's files belong to
_DUMP_FILE = re.compile(r"metadata|dump-plan\.json|snapshots\.json|dump\.done|dump-task\.json"
                        r"|.+\.(?:sql|tsv|part|tmp)")


def claim_directory(path: Path, task: str, source: str) -> None:
    """Make `path` the dump directory of (task, source): kept if it already holds its
    finished dump, emptied first if it holds only dump files (an unfinished dump of this
    task too: it starts over, as DM's does, so that its files are one snapshot), refused
    (32005) otherwise."""
    owner = {"task": task, "source": source}
    marker = path / OWNER_FILE
    if path.is_dir() and any(path.iterdir()):
        if marker.exists() and json.loads(marker.read_text()) == owner and \
                (path / DONE_FILE).exists():
            return
        files = sorted(path.iterdir())
        for file in files:
            if not (file.is_file() and _DUMP_FILE.fullmatch(file.name)):
                raise errors.DUMP_DIR_IN_USE(path=str(path), file=file.name)
        log.info("emptying %s (%d dump files) for task %s source %s", path, len(files), task,
                 source)
        for file in files:
            file.unlink()
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(owner))
