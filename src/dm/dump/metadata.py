"""The dump's `metadata` file in DM's (dumpling's) format.

The first `SHOW MASTER STATUS:` block is where sync must start; when a resumed dump
took chunks under later snapshots, the last one is written as DM's second block
(`/* AFTER CONNECTION POOL ESTABLISHED */`): sync stays in safe mode until it passes it.
It is read back with `dm.binlog.location.parse_dump_metadata`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dm.dump.snapshot import SnapshotPosition

METADATA_FILE = "metadata"
_AFTER = "SHOW MASTER STATUS: /* AFTER CONNECTION POOL ESTABLISHED */"


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
