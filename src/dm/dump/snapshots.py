"""The snapshots of a dump and which chunks each one took (`snapshots.json`).

A resumed dump takes a new snapshot for the chunks still missing, so one dump can hold
chunks of several snapshots. Each snapshot is recorded with the chunks it was to dump,
before it dumps any: a chunk was taken under the last snapshot that lists it. From that:

- `used`: the snapshots that hold at least one chunk, in order. The first is where a
  replay of the binlog must start, the last where the copy is consistent again.
- `table_starts`: a table without a chunk key (one chunk) taken under a later snapshot
  is exactly that snapshot's copy, so its row events before that snapshot are already
  in it and must not be applied again (a keyless table would get them twice). Tables
  cut on a NOT NULL integer key (plan.py cuts only those) converge by replaying their
  events in safe mode from the first snapshot, whichever snapshots their chunks come
  from; so do their DDLs, a column added while the dump was interrupted among them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from dm.dump.plan import DumpPlan
from dm.dump.snapshot import SnapshotPosition

SNAPSHOTS_FILE = "snapshots.json"


def record_snapshot(directory: Path, snapshot: SnapshotPosition, chunks: list[str]) -> None:
    """Add `snapshot` and the chunk files it is about to dump."""
    path = directory / SNAPSHOTS_FILE
    known = json.loads(path.read_text()) if path.exists() else []
    known.append({**asdict(snapshot), "chunks": chunks})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(known))
    os.replace(tmp, path)


def _entries(directory: Path) -> list[tuple[SnapshotPosition, list[str] | None]]:
    """Each snapshot with its chunks (None: recorded by an earlier pydm, not known)."""
    path = directory / SNAPSHOTS_FILE
    if not path.exists():
        return []
    return [(SnapshotPosition(**{k: v for k, v in e.items() if k != "chunks"}),
             e.get("chunks")) for e in json.loads(path.read_text())]


def chunk_snapshots(directory: Path) -> dict[str, SnapshotPosition]:
    """Chunk file name -> the snapshot it was taken under."""
    taken: dict[str, SnapshotPosition] = {}
    for snapshot, chunks in _entries(directory):
        taken.update(dict.fromkeys(chunks or (), snapshot))
    return taken


def used(directory: Path) -> list[SnapshotPosition]:
    """The snapshots that hold at least one chunk, oldest first (a dump of nothing: the
    last one taken)."""
    entries = _entries(directory)
    holding = set(chunk_snapshots(directory).values())
    return [s for s, chunks in entries if chunks is None or s in holding] or \
        [s for s, _ in entries[-1:]]


def resumed(directory: Path) -> bool:
    """Chunks of the dump come from more than one snapshot (metadata then has DM's
    second block): a binlog replay between them makes it one consistent copy."""
    return len(used(directory)) > 1


def table_starts(directory: Path) -> dict[tuple[str, str], SnapshotPosition]:
    """Tables without a chunk key taken under a snapshot later than the dump's first
    one -> it."""
    plan = DumpPlan.load(directory)
    taken = chunk_snapshots(directory)
    snapshots = used(directory)
    if plan is None or len(snapshots) < 2 or any(c is None for _, c in _entries(directory)):
        return {}
    starts = {}
    for table in (t for t in plan.tables if t.chunk_key is None):
        under = {taken.get(c.file_name(table.schema, table.table)) for c in table.chunks}
        if len(under) == 1 and (only := under.pop()) is not None and only != snapshots[0]:
            starts[(table.schema, table.table)] = only
    return starts
