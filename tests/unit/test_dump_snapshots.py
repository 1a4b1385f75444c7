"""Which snapshot each chunk of a resumed dump was taken under, and what sync makes of it."""

import json
from pathlib import Path

from dm.dump.plan import Chunk, DumpPlan, TablePlan
from dm.dump.snapshot import SnapshotPosition
from dm.dump.snapshots import SNAPSHOTS_FILE, chunk_snapshots, record_snapshot, table_starts, used


def _snapshot(pos: int) -> SnapshotPosition:
    return SnapshotPosition("bin.000001", pos, "", float(pos), 0.0)


def _dump(tmp_path: Path) -> tuple[list[str], str]:
    """A plan with a keyed table of three chunks and a keyless table of one."""
    keyed = TablePlan("db", "big", [("id", "int")], "id",
                      [Chunk(0, None, 10), Chunk(1, 10, 20), Chunk(2, 20, None)])
    keyless = TablePlan("db", "log", [("a", "int")], None, [Chunk(0, None, None)])
    DumpPlan([keyed, keyless]).save(tmp_path)
    return ([c.file_name("db", "big") for c in keyed.chunks],
            keyless.chunks[0].file_name("db", "log"))


def test_a_chunk_belongs_to_the_last_snapshot_that_was_to_take_it(tmp_path: Path) -> None:
    big, log = _dump(tmp_path)
    record_snapshot(tmp_path, _snapshot(100), [*big, log])  # killed after big's chunk 0
    record_snapshot(tmp_path, _snapshot(200), [*big[1:], log])  # killed after chunk 1
    record_snapshot(tmp_path, _snapshot(300), [big[2], log])
    taken = chunk_snapshots(tmp_path)
    assert [taken[n].binlog_pos for n in big] == [100, 200, 300]
    assert taken[log].binlog_pos == 300
    assert [s.binlog_pos for s in used(tmp_path)] == [100, 200, 300]
    # big mixes snapshots (safe mode converges it from the first); log is exactly 300's
    assert {k: s.binlog_pos for k, s in table_starts(tmp_path).items()} == {("db", "log"): 300}


def test_a_snapshot_that_took_no_chunk_is_not_where_sync_starts(tmp_path: Path) -> None:
    big, log = _dump(tmp_path)
    record_snapshot(tmp_path, _snapshot(100), [*big, log])  # killed before any chunk
    record_snapshot(tmp_path, _snapshot(200), [*big, log])
    assert [s.binlog_pos for s in used(tmp_path)] == [200]
    assert table_starts(tmp_path) == {}  # one snapshot: nothing to reconcile


def test_snapshots_recorded_without_their_chunks_keep_every_snapshot(tmp_path: Path) -> None:
    """An earlier pydm's snapshots.json: the first snapshot stays where sync starts."""
    _, log = _dump(tmp_path)
    (tmp_path / SNAPSHOTS_FILE).write_text(json.dumps(
        [{"binlog_name": "bin.000001", "binlog_pos": p, "binlog_gtid": "", "taken_at": 0.0,
          "lock_seconds": 0.0} for p in (100, 200)]))
    record_snapshot(tmp_path, _snapshot(300), [log])
    assert [s.binlog_pos for s in used(tmp_path)] == [100, 200, 300]
    assert table_starts(tmp_path) == {}


def test_a_keyed_table_taken_wholly_later_replays_from_the_first_snapshot(
        tmp_path: Path) -> None:
    """Its events before the later snapshot are replayed in safe mode (idempotent by key),
    so a column added while the dump was interrupted reaches it; a keyless one skips them
    (it would get rows twice)."""
    big, log = _dump(tmp_path)
    other = TablePlan("db", "other", [("id", "int")], "id", [Chunk(0, None, None)])
    plan = DumpPlan.load(tmp_path)
    assert plan is not None
    DumpPlan([*plan.tables, other], plan.databases).save(tmp_path)
    record_snapshot(tmp_path, _snapshot(100), [*big, log, other.chunks[0].file_name("db",
                                                                                    "other")])
    record_snapshot(tmp_path, _snapshot(200), [*big[1:], log, other.chunks[0].file_name(
        "db", "other")])
    assert {k: s.binlog_pos for k, s in table_starts(tmp_path).items()} == {("db", "log"): 200}
