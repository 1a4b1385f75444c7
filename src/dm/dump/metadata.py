"""The dump's `metadata` file in DM's (dumpling's) format.

The first `SHOW MASTER STATUS:` block is where sync must start; when a resumed dump
took chunks under later snapshots, the last one is written as DM's second block
(`/* AFTER CONNECTION POOL ESTABLISHED */`): sync stays in safe mode until it passes it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from dm import errors
from dm.dump.snapshot import SnapshotPosition

METADATA_FILE = "metadata"
_AFTER = "SHOW MASTER STATUS: /* AFTER CONNECTION POOL ESTABLISHED */"


@dataclass(frozen=True)
class BinlogLocation:
    name: str
    pos: int
    gtid: str

    def __str__(self) -> str:
        return f"{self.name}:{self.pos}" + (f" ({self.gtid})" if self.gtid else "")


@dataclass(frozen=True)
class DumpMetadata:
    location: BinlogLocation
    safe_mode_exit: BinlogLocation | None = None


def _block(title: str, loc: SnapshotPosition) -> str:
    return (f"{title}\n\tLog: {loc.binlog_name}\n\tPos: {loc.binlog_pos}\n"
            f"\tGTID:{loc.binlog_gtid}\n\n")


def write_metadata(directory: Path, snapshots: list[SnapshotPosition]) -> None:
    first, last = snapshots[0], snapshots[-1]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(first.taken_at))
    text = f"Started dump at: {stamp}\n" + _block("SHOW MASTER STATUS:", first)
    if last != first:
        text += _block(_AFTER, last)
    text += f"Finished dump at: {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
    tmp = directory / (METADATA_FILE + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, directory / METADATA_FILE)


_BLOCK = re.compile(r"(SHOW MASTER STATUS:[^\n]*)\n\s*Log: (\S+)\n\s*Pos: (\d+)\n\s*GTID:(.*?)\n\n",
                    re.S)


def read_metadata(directory: Path) -> DumpMetadata:
    path = directory / METADATA_FILE
    try:
        text = path.read_text()
    except OSError as exc:
        raise errors.PARSE_DUMP_METADATA(exc, path=str(path)) from exc
    locations: dict[bool, BinlogLocation] = {}
    for title, name, pos, gtid in _BLOCK.findall(text + "\n"):
        gtid_set = "".join(gtid.split())
        locations["AFTER" in title] = BinlogLocation(name, int(pos), gtid_set)
    if False not in locations:
        raise errors.NO_BINLOG_LOCATION(path=str(path))
    return DumpMetadata(locations[False], locations.get(True))
