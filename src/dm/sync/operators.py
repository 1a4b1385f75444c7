"""DM's binlog operators (`binlog skip|replace|revert|list`, DM 2.0's `handle-error`): what
sync does instead of the DDL event at a binlog position, skip it or run other statements
in its place. The master keeps them in etcd per task and source, so they outlive a
restart; the worker hands them to the sync unit and forgets each once the checkpoint has
passed it, as DM removes outdated operators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dm import errors
from dm.binlog.location import Location

SKIP, REPLACE = "skip", "replace"


@dataclass(frozen=True)
class Operator:
    op: str  # SKIP or REPLACE
    file: str
    pos: int  # where the DDL event starts
    sqls: tuple[str, ...] = ()  # REPLACE: run in its place, as if the upstream had

    @property
    def at(self) -> str:
        return f"{self.file}:{self.pos}"

    def before(self, location: Location) -> bool:
        return Location(self.file, self.pos) < location

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "binlog_pos": self.at, "sqls": list(self.sqls)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Operator:
        file, pos = parse_binlog_pos(str(doc["binlog_pos"]))
        return cls(str(doc["op"]), file, pos, tuple(str(s) for s in doc.get("sqls", ())))


def parse_binlog_pos(text: str) -> tuple[str, int]:
    """DM's `-b/--binlog-pos`: `mysql-bin.000003:3270`, or the relay's form
    `mysql-bin|000001.000003:3270` (the upstream's file name inside the sub-directory)."""
    name, sep, pos = text.strip().strip("'\"").rpartition(":")
    if "|" in name:
        base, _, rest = name.partition("|")
        name = f"{base}.{rest.rpartition('.')[2]}"
    if not sep or not name or not pos.isdigit():
        raise errors.BINLOG_OP_ARGS(detail=f"invalid --binlog-pos {text} in handle-error "
                                           "operation: want <binlog file>:<position>")
    return name, int(pos)
