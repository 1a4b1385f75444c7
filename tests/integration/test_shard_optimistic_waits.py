"""DM's default optimistic mode (`strict-optimistic-shard-mode` unset): a shard whose DDL
conflicts with the other shards' schemas (DM's "type 2" DDLs: a column renamed, a type
changed) waits at that DDL, its rows held, while the other shards go on with the old
schema; once every shard has made the same change it runs downstream once and the held
shards are read again from their DDL. Four shards of two sources merged into one table
(test_shard_merge.py's), row for row against the union of the shards."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import fetch, wait_stage, wait_until
from tests.integration.test_binlog_operators import _position_of
from tests.integration.test_shard_merge import (
    LOCK,
    SHARDS,
    _columns,
    _error,
    _locks,
    _merged,
    _on_shard,
    _shard_id,
    _started,
    _union,
    _worker_of,
    _writing,
    two_sources,
)

pytestmark = pytest.mark.integration
__all__ = ["two_sources"]  # the shards' servers, bound to two workers (a fixture)

RENAME = "ALTER TABLE {t} CHANGE d e INT DEFAULT 1"


def _row(n: int, k: int, column: str = "e") -> str:
    """Row `k` of shard `n` (ids far from the writer's, whose ids grow with time)."""
    return f"INSERT INTO {{t}} (id, v, {column}) VALUES ({_shard_id(n) + 900_000 + k}, " \
        f"'r{k}', {k})"


def _running_without_error(cluster: DMProcesses, task: str) -> None:
    for s in cluster.dmctl("query-status", task)["sources"]:
        sub = s["subTaskStatus"][0]
        assert sub["stage"] == "Running" and sub["result"] is None, sub


def _ends_equal(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, task: str,
                columns: str) -> None:
    """The merged table equals the union of the shards, no lock is left, no error."""
    wait_until("the merged table equals the union of the shards",
               lambda: _merged(downstream, columns) == _union(ups, columns),
               shown=lambda: len(_merged(downstream, columns)) - len(_union(ups, columns)))
    assert _locks(cluster, task) == []
    _running_without_error(cluster, task)


def test_a_column_renamed_shard_after_shard_waits_for_every_shard(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM_RESYNC_TXN_INTERRUPT's shape: every shard renames `d` one after another, writes
    in between (the renamed shards with the new name, the others with the old one), a
    worker killed while a shard waits; the rename runs downstream once, and every held
    row arrives."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optw", "optimistic") as stack:
        halt = stack.enter_context(_writing(ups))
        _on_shard(ups, 0, RENAME)
        _on_shard(ups, 0, _row(0, 1))
        _on_shard(ups, 1, _row(1, 1, "d"))  # not renamed yet: goes on with the old name
        wait_until("the other shard's row arrives", lambda: (
            _shard_id(1) + 900_001, "r1", 1) in _merged(downstream, "id, v, d"))
        locks = _locks(cluster, "optw")
        assert [(lk["ID"], lk["mode"], lk["DDLs"]) for lk in locks] == [
            (LOCK.replace("pess-", "optw-"), "optimistic",
             ["ALTER TABLE `pess`.`t` CHANGE d e INT DEFAULT 1"])], locks
        assert "pess-a:pessa.t_1" in locks[0]["unsynced"], locks
        assert "d" in _columns(downstream) and "e" not in _columns(downstream)
        assert (_shard_id(0) + 900_001,) not in _merged(downstream, "id")
        _running_without_error(cluster, "optw")

        _on_shard(ups, 2, RENAME)  # a shard of the other source
        _on_shard(ups, 2, _row(2, 2))
        killed = _worker_of(cluster, "pess-a")  # the waiting shard's worker, kill -9
        cluster.kill_worker(killed)
        _on_shard(ups, 0, _row(0, 3))
        time.sleep(1)
        cluster.start_worker(killed)
        wait_stage(cluster, "optw", "Running", unit="Sync")
        _on_shard(ups, 1, RENAME)
        _on_shard(ups, 3, _row(3, 4, "d"))
        time.sleep(1)
        assert "e" not in _columns(downstream)  # shard 3 has not renamed it yet
        assert (_shard_id(0) + 900_001,) not in _merged(downstream, "id")
        _running_without_error(cluster, "optw")

        _on_shard(ups, 3, RENAME)  # the last one: the rename runs, the held rows follow
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        assert "d" not in _columns(downstream)
        for n in range(4):
            _on_shard(ups, n, _row(n, 5))
        halt()
        _ends_equal(cluster, ups, downstream, "optw", "id, v, e")


def test_a_type_narrowed_and_an_index_moved_on_every_shard(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM_103 and DM_118, which DM's non-strict mode replays: a column's type changed
    (not a widening) and an index dropped and added back on other columns, shard after
    shard with rows in between, wait for the last shard (the master killed and
    restarted meanwhile); then equal."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optn", "optimistic"):
        for n in range(4):
            _on_shard(ups, n, "ALTER TABLE {t} ADD INDEX ix (d)")
        wait_until("the merged table has ix", lambda: "ix" in _index_columns(downstream))
        order = (2, 0, 3, 1)
        for k, n in enumerate(order):
            _on_shard(ups, n, "ALTER TABLE {t} MODIFY v VARCHAR(10)")
            _on_shard(ups, n, "ALTER TABLE {t} DROP INDEX ix")
            _on_shard(ups, n, "ALTER TABLE {t} ADD INDEX ix (v, d)")
            for m in range(4):
                _on_shard(ups, m, _row(m, 10 + k, "d"))
            if k < 3:
                time.sleep(1)
                assert _varchar_length(downstream) == 20, n
                _running_without_error(cluster, "optn")
            if k == 1:  # kill -9 of the master (its etcd holds the lock) while two wait
                cluster.kill_master("master1")
                cluster.restart_master("master1")
                wait_stage(cluster, "optn", "Running", unit="Sync")
        wait_until("the merged column is narrowed", lambda: _varchar_length(downstream) == 10)
        wait_until("the index is on (v, d)",
                   lambda: _index_columns(downstream).get("ix") == ["v", "d"])
        wait_until("the merged table equals the union of the shards",
                   lambda: _merged(downstream, "id, v, d") == _union(ups, "id, v, d"))
        _running_without_error(cluster, "optn")


def test_two_shards_renaming_a_column_otherwise_is_a_conflict(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM_050: one shard renames `d` to `e`, another to `f`: the second pauses with 36062
    (DM: "conflict"); the first keeps waiting. Then the waiting shard's table is renamed:
    36068, as any shard's RENAME TABLE in optimistic mode (a helper's review found the
    rename left for later and the new name's rows paused with 36030 at every resume)."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optx", "optimistic"):
        _on_shard(ups, 0, RENAME)
        time.sleep(1)
        _on_shard(ups, 2, "ALTER TABLE {t} CHANGE d f INT DEFAULT 1")
        wait_until("source b pauses", lambda: _error(cluster, "optx", "pess-b"))
        error = _error(cluster, "optx", "pess-b")
        assert error is not None and error["ErrCode"] == 36062, error
        assert "differs from the conflicting change held by source pess-a `pessa`.`t_1` " \
               "(type-2 DDLs must run in the same order and form on every shard)" in \
            error["Message"], error
        assert _error(cluster, "optx", "pess-a") is None
        assert "d" in _columns(downstream)
        ups[0].execute("RENAME TABLE pessa.t_1 TO pessa.moved",
                       "INSERT INTO pessa.moved (id, v, e) VALUES (1, 'moved', 1)")
        wait_until("source a pauses", lambda: _error(cluster, "optx", "pess-a"))
        error = _error(cluster, "optx", "pess-a")
        assert error is not None and error["ErrCode"] == 36068, error
        assert "`RENAME TABLE` statement not supported in optimistic mode" in \
            error["Message"], error


def test_a_waiting_shard_renamed_upstream_goes_on_after_unlock_and_binlog_skip(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """The way out of a waiting shard's `RENAME TABLE` (36068): the shard is unlocked
    (`-a skip`), then the rename is skipped with `binlog skip`: nothing runs downstream,
    the new name takes the shard's place in its group with its own schema and the old
    name leaves the lock (it stayed there, and every later change waited for it), so a
    later DDL of every shard runs as usual."""
    ups = two_sources
    lock = LOCK.replace("pess-", "optr-")
    with _started(cluster, ups, downstream, tmp_path, "optr", "optimistic"):
        _on_shard(ups, 0, "ALTER TABLE {t} MODIFY v VARCHAR(10)")  # narrowing: waits
        _on_shard(ups, 0, _row(0, 1, "d"))
        wait_until("shard 0 holds its DDL", lambda: _locks(cluster, "optr") != [])
        ups[0].execute("RENAME TABLE pessa.t_1 TO pessa.t_9",
                       f"INSERT INTO pessa.t_9 (id, v, d) VALUES ({_shard_id(0) + 900_002}, "
                       "'renamed', 2)")
        wait_until("source a pauses", lambda: _error(cluster, "optr", "pess-a"))
        assert _error(cluster, "optr", "pess-a")["ErrCode"] == 36068  # type: ignore[index]
        assert cluster.dmctl("shard-ddl-lock", "unlock", lock, "-s", "pess-a", "-d", "pessa",
                             "-t", "t_1", "-a", "skip")["result"]
        assert cluster.dmctl("binlog", "skip", "optr", "-s", "pess-a",
                             "-b", _position_of(ups[0], "RENAME TABLE"))["result"]
        wait_until("the renamed shard's row arrives",
                   lambda: (_shard_id(0) + 900_002,) in _merged(downstream, "id"))
        wait_until("the lock is gone", lambda: _locks(cluster, "optr") == [],
                   shown=lambda: _locks(cluster, "optr"))
        renamed = (0, "pessa", "t_9")
        for n, (i, db, table) in enumerate((*SHARDS[1:], renamed)):
            ups[i].execute(f"ALTER TABLE {db}.{table} ADD COLUMN w INT DEFAULT 3",
                           f"INSERT INTO {db}.{table} (id, v, d, w) VALUES "
                           f"({_shard_id(n) + 900_003}, 'with w', 3, 4)")
        union = sorted(row for i, db, table in (*SHARDS[1:], renamed)
                       for row in fetch(ups[i], f"SELECT id, v, d, w FROM {db}.{table}"))
        wait_until("the merged table equals the union of the shards",
                   lambda: _merged(downstream, "id, v, d, w") == union,
                   shown=lambda: (_locks(cluster, "optr"), _error(cluster, "optr", "pess-a")))
        assert _varchar_length(downstream) == 20  # the skipped narrowing did not run
        assert _locks(cluster, "optr") == []
        _running_without_error(cluster, "optr")


def test_a_held_change_settles_when_shards_leave_or_join(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """The shards that have not made the held change leave (a DROP DATABASE that takes a
    held shard and one that had not renamed, then a DROP TABLE): the last leaving
    settles it, the rename runs once and the held rows arrive; then a shard created
    LIKE a renamed one joins. A helper's review found the change released and never
    run, and a DROP DATABASE of a held shard waiting for good."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optl", "optimistic"):
        for n in (0, 2):
            _on_shard(ups, n, RENAME)
            _on_shard(ups, n, _row(n, 1))
        time.sleep(1)
        dropped = fetch(ups[0], "SELECT id, v, e FROM pessa.t_1") + fetch(
            ups[0], "SELECT id, v, d FROM pessa.t_2")
        ups[0].execute("DROP DATABASE pessa")  # the merged table keeps their rows
        dropped += fetch(ups[1], "SELECT id, v, d FROM pessb.t_2")
        time.sleep(1)
        assert "e" not in _columns(downstream)  # pessb.t_2 has not renamed it
        _running_without_error(cluster, "optl")
        ups[1].execute("DROP TABLE pessb.t_2")  # the last one that had not: settled
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        ups[1].execute("CREATE TABLE pessb.t_3 LIKE pessb.t_1",
                       "INSERT INTO pessb.t_3 (id, v, e) VALUES (7000001, 'new', 5)")
        expected = sorted(dropped + fetch(ups[1], "SELECT id, v, e FROM pessb.t_1")
                          + [(7000001, "new", 5)])
        wait_until("the merged table keeps the dropped shards' rows and has the others'",
                   lambda: _merged(downstream, "id, v, e") == expected)
        assert _locks(cluster, "optl") == []
        _running_without_error(cluster, "optl")


def test_a_held_ddl_settled_by_another_source_runs_in_its_own_session(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """A shard's rename and a TIMESTAMP default, written with ANSI_QUOTES in another time
    zone, wait; the other shards leave, and the last to leave (on the other source)
    settles them: the held statements run downstream as they ran upstream (they were
    run in the settling source's session: a syntax error under its quoting, a default
    hours off)."""
    ups = two_sources
    zoned = "ALTER TABLE pessa.t_1 CHANGE \"d\" \"e\" INT DEFAULT 1, ALTER COLUMN ts " \
        "SET DEFAULT '2020-01-01 00:00:00'"
    with _started(cluster, ups, downstream, tmp_path, "opts", "optimistic"):
        for n in range(4):
            _on_shard(ups, n, "ALTER TABLE {t} ADD COLUMN ts TIMESTAMP NULL")
        wait_until("the merged table has ts", lambda: "ts" in _columns(downstream))
        ups[0].execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
                       "SET SESSION time_zone = '+05:00'", zoned)
        _on_shard(ups, 0, _row(0, 1))
        kept = fetch(ups[0], "SELECT id, v, e FROM pessa.t_1")
        for n in (1, 2, 3):
            time.sleep(0.5)
            i, db, table = SHARDS[n]
            kept += fetch(ups[i], f"SELECT id, v, d FROM {db}.{table}")
            ups[i].execute(f"DROP TABLE {db}.{table}")
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        wait_until("the held shard's row arrives",
                   lambda: _merged(downstream, "id, v, e") == sorted(kept))
        assert _utc_default(downstream, "pess", "t") == _utc_default(
            ups[0], "pessa", "t_1") == "'2019-12-31 19:00:00'"  # 2020-01-01 at +05:00
        assert _locks(cluster, "opts") == []
        _running_without_error(cluster, "opts")


def test_a_settled_statement_runs_only_its_conflicting_clauses(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """A shard drops `v` and renames `d` in one ALTER and waits; two shards rename `d`
    alone; the last shard with `d` leaves and settles the rename. Only the rename runs:
    `v` stays for the shards that keep it (a helper's review found the held statement
    run whole, `v` dropped downstream, and every source paused with 1054)."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optv", "optimistic"):
        _on_shard(ups, 0, "ALTER TABLE {t} DROP COLUMN v, CHANGE d e INT DEFAULT 1")
        for n in (1, 2):
            _on_shard(ups, n, RENAME)
        time.sleep(1)
        gone = fetch(ups[1], "SELECT id, d FROM pessb.t_2")  # the merged table keeps them
        ups[1].execute("DROP TABLE pessb.t_2")
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        for n in (0, 1, 2):
            _on_shard(ups, n, _row(n, 1) if n else
                      f"INSERT INTO {{t}} (id, e) VALUES ({_shard_id(0) + 900_001}, 1)")
        kept = [row for n in (0, 1, 2) for row in fetch(
            ups[SHARDS[n][0]], f"SELECT id, e FROM {SHARDS[n][1]}.{SHARDS[n][2]}")]
        wait_until("the merged table has every shard's rows",
                   lambda: _merged(downstream, "id, e") == sorted(kept + gone))
        assert "v" in _columns(downstream)
        for n in (1, 2):
            i, db, table = SHARDS[n]
            assert set(fetch(ups[i], f"SELECT id, v, e FROM {db}.{table}")) <= set(
                _merged(downstream, "id, v, e"))
        assert [(lk["DDLs"], lk["unsynced"]) for lk in _locks(cluster, "optv")] == [
            ([], ["pess-a:pessa.t_1"])]  # waiting for no DDL: v partly dropped
        _running_without_error(cluster, "optv")


def test_several_changes_in_one_alter_wait_together(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM_118 in one statement (`DROP INDEX ix, ADD INDEX ix (...)`), then a column
    dropped and another renamed in one ALTER, on every shard in turn with rows in
    between: each statement runs downstream whole, once (a helper's review found the
    drops in them lost: decided against the held shards' schemas before their change)."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "opta", "optimistic"):
        for n in range(4):
            _on_shard(ups, n, "ALTER TABLE {t} ADD INDEX ix (d)")
        wait_until("the merged table has ix", lambda: "ix" in _index_columns(downstream))
        for k, n in enumerate((0, 2, 1, 3)):
            _on_shard(ups, n, "ALTER TABLE {t} DROP INDEX ix, ADD INDEX ix (id, d)")
            _on_shard(ups, n, _row(n, k, "d"))
        wait_until("ix is on (id, d)",
                   lambda: _index_columns(downstream).get("ix") == ["id", "d"])
        for k, n in enumerate((3, 1, 0, 2)):
            _on_shard(ups, n, "ALTER TABLE {t} DROP COLUMN v, CHANGE d e INT DEFAULT 1")
            _on_shard(ups, n, f"INSERT INTO {{t}} (id, e) VALUES ({_shard_id(n) + 900}, {k})")
        wait_until("v dropped and d renamed", lambda: _columns(downstream) == ["id", "e"])
        wait_until("the merged table equals the union of the shards",
                   lambda: _merged(downstream, "id, e") == _union(ups, "id, e"))
        assert _index_columns(downstream).get("ix") == ["id", "e"]
        assert _locks(cluster, "opta") == []
        _running_without_error(cluster, "opta")


def test_a_rename_in_other_forms_and_with_other_clauses_settles_after_it_ran(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """One shard renames `d` and adds `x` in one ALTER, two rename it alone and add `x`
    after, the last one renames it with RENAME COLUMN and adds `x` in the same ALTER,
    while a downstream transaction keeps the merged table locked: the held shards go on
    only once the rename has run downstream, and `x` is added once (a helper's review
    found the other clauses of a held or settling statement taken for part of the
    conflict, and the held shards let go before the rename ran)."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optf", "optimistic"):
        _on_shard(ups, 0, "ALTER TABLE {t} CHANGE d e INT DEFAULT 1, ADD COLUMN x INT")
        for n in (1, 2):
            _on_shard(ups, n, RENAME)
            _on_shard(ups, n, "ALTER TABLE {t} ADD COLUMN x INT")
        for n in range(3):
            _on_shard(ups, n, f"INSERT INTO {{t}} (id, v, e, x) VALUES "
                              f"({_shard_id(n) + 900}, 'x', 1, 2)")
        time.sleep(1)
        blocker = downstream.connect()
        try:
            with blocker.cursor() as cur:  # the rename waits on this metadata lock
                cur.execute("BEGIN")
                cur.execute("SELECT COUNT(*) FROM pess.t")
            _on_shard(ups, 3, "ALTER TABLE {t} RENAME COLUMN d TO e, ADD COLUMN x INT")
            wait_until("the rename waits downstream", lambda: any(
                "RENAME COLUMN" in str(r[0]) for r in fetch(
                    downstream, "SELECT INFO FROM information_schema.PROCESSLIST")))
            time.sleep(1.5)
            _running_without_error(cluster, "optf")  # the held rows still wait
        finally:
            blocker.rollback()
            blocker.close()
        wait_until("renamed, x added", lambda: _columns(downstream) == ["id", "v", "e", "x"])
        _on_shard(ups, 3, f"INSERT INTO {{t}} (id, v, e, x) VALUES ({_shard_id(3) + 900}, "
                          "'x', 1, 2)")
        _ends_equal(cluster, ups, downstream, "optf", "id, v, e, x")


def test_a_task_stopped_while_shards_wait_starts_again(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """stop-task while three shards wait, rows written meanwhile, start-task: the
    precheck does not compare the shards' schemas of a task that has started before
    (as DM: they differ now by design; it refused with 26005), the shards wait again,
    and the last one's rename settles them."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "opts", "optimistic") as stack:
        halt = stack.enter_context(_writing(ups))
        for n in (0, 2, 1):
            _on_shard(ups, n, RENAME)
            _on_shard(ups, n, _row(n, 1))
        time.sleep(1)
        assert cluster.dmctl("stop-task", "opts")["result"]
        _on_shard(ups, 0, _row(0, 2))
        assert cluster.dmctl("start-task", str(tmp_path / "task.yaml"))["result"]
        wait_stage(cluster, "opts", "Running", unit="Sync")
        time.sleep(1)
        assert "e" not in _columns(downstream)
        _on_shard(ups, 3, RENAME)
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        halt()
        _ends_equal(cluster, ups, downstream, "opts", "id, v, e")


def test_a_column_a_shard_dropped_stays_dropped_by_it_across_a_restart(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """A shard drops `d` while the others keep it (the merged table keeps it); after a
    pause and resume, adding `d` back on that shard is still the conflict it was before
    (its old rows keep their old values downstream): a restart used to forget which
    columns a shard had dropped, and took the ADD as nothing to do."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optd", "optimistic"):
        _on_shard(ups, 0, "ALTER TABLE {t} DROP COLUMN d")
        _on_shard(ups, 0, "INSERT INTO {t} (id, v) VALUES (" + str(_shard_id(0) + 900)
                  + ", 'after')")
        wait_until("the shard's row arrives", lambda: (
            _shard_id(0) + 900,) in _merged(downstream, "id"))
        assert "d" in _columns(downstream)
        assert cluster.dmctl("pause-task", "optd")["result"]
        assert cluster.dmctl("resume-task", "optd")["result"]
        wait_stage(cluster, "optd", "Running", unit="Sync")
        _on_shard(ups, 0, "ALTER TABLE {t} ADD COLUMN d INT DEFAULT 1")
        wait_until("source a pauses", lambda: _error(cluster, "optd", "pess-a"))
        error = _error(cluster, "optd", "pess-a")
        assert error is not None and error["ErrCode"] == 36062, error
        assert "not fully dropped" in error["Message"], error


def _varchar_length(downstream: MariaDB) -> int:
    rows = fetch(downstream, "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
                             "WHERE TABLE_SCHEMA = 'pess' AND TABLE_NAME = 't' AND "
                             "COLUMN_NAME = 'v'")
    return int(rows[0][0]) if rows else 0


def _index_columns(downstream: MariaDB) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, column in fetch(downstream, "SELECT INDEX_NAME, COLUMN_NAME FROM "
                                          "information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                                          "'pess' AND TABLE_NAME = 't' ORDER BY INDEX_NAME, "
                                          "SEQ_IN_INDEX"):
        out.setdefault(str(name), []).append(str(column))
    return out


def test_unlock_lets_one_held_shard_go_on_skipping_or_running_its_ddl(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM's optimistic `shard-ddl-lock unlock <lock> -s -d -t -a skip|exec`: a shard that
    narrowed a column is let go with skip (the merged column stays as it was, the shard's
    rows arrive), the unlock given while the shard's worker is down; a shard that moved an
    index, with exec (the merged index moves at once; the other shards moving it later
    settle as usual). What names no held shard is refused. A `binlog skip` of a waiting
    shard's DDL acts at once on the running task (it waited for a pause and resume)."""
    ups = two_sources
    lock = LOCK.replace("pess-", "optu-")
    with _started(cluster, ups, downstream, tmp_path, "optu", "optimistic") as stack:
        halt = stack.enter_context(_writing(ups))
        for n in range(4):
            _on_shard(ups, n, "ALTER TABLE {t} ADD INDEX ix (d)")
        _on_shard(ups, 0, "ALTER TABLE {t} MODIFY v VARCHAR(10)")
        _on_shard(ups, 0, _row(0, 1, "d"))
        wait_until("shard 0 holds its DDL", lambda: _locks(cluster, "optu") != [])
        assert _unlock_errors(cluster) == 0  # DM_DDL_error's series is there before one
        assert _master_series(cluster, 'dm_master_ddl_state_number{task="optu",'
                                       'type="Un-synced"}') == 1  # DM_pending_DDL's
        for extra, wrong in ((("-s", "pess-a", "-s", "pess-b"), "only one source"),
                             (("-s", "pess-b", "-d", "pessb", "-t", "t_1"), "code=38020"),
                             (("-s", "pess-a", "-d", "pessa", "-t", "t_2"), "code=38020")):
            answer = cluster.dmctl("shard-ddl-lock", "unlock", lock, *extra, check=False)
            assert answer["_exit"] == 1 and wrong in answer["msg"], answer
        missing = cluster.dmctl("shard-ddl-lock", "unlock", "optu-`x`.`y`", "-s", "pess-a",
                                "-d", "pessa", "-t", "t_1", check=False)
        assert missing["_exit"] == 1 and "code=38019" in missing["msg"], missing
        assert _unlock_errors(cluster) == 4
        assert (_shard_id(0) + 900_001,) not in _merged(downstream, "id")

        killed = _worker_of(cluster, "pess-a")  # the unlock is given while it is down
        cluster.kill_worker(killed)
        cluster.dmctl("shard-ddl-lock", "unlock", lock, "-s", "pess-a", "-d", "pessa",
                      "-t", "t_1", "-a", "skip")
        cluster.start_worker(killed)
        wait_until("the skipped shard's row arrives",
                   lambda: (_shard_id(0) + 900_001,) in _merged(downstream, "id"))
        assert _varchar_length(downstream) == 20
        assert _locks(cluster, "optu") == []

        _on_shard(ups, 2, "ALTER TABLE {t} DROP INDEX ix, ADD INDEX ix (v, d)")
        _on_shard(ups, 2, _row(2, 2, "d"))
        wait_until("shard 2 holds its DDL", lambda: _locks(cluster, "optu") != [])
        assert _index_columns(downstream)["ix"] == ["d"]
        cluster.dmctl("unlock-ddl-lock", lock, "-s", "pess-b", "-d", "pessb", "-t", "t_1",
                      "-a", "exec")
        wait_until("the index is moved", lambda: _index_columns(downstream)["ix"] == ["v", "d"])
        wait_until("the executed shard's row arrives",
                   lambda: (_shard_id(2) + 900_002,) in _merged(downstream, "id"))
        for n in (0, 1, 3):
            _on_shard(ups, n, "ALTER TABLE {t} DROP INDEX ix, ADD INDEX ix (v, d)")
            _on_shard(ups, n, _row(n, 3, "d"))

        _on_shard(ups, 1, "ALTER TABLE {t} MODIFY v VARCHAR(12)")  # waits; then a binlog
        _on_shard(ups, 1, _row(1, 4, "d"))  # skip of it acts at once, on a running task
        wait_until("shard 1 holds its DDL", lambda: _locks(cluster, "optu") != [])
        at = _position_of(ups[0], "MODIFY v VARCHAR(12)")
        cluster.dmctl("binlog", "skip", "optu", "-s", "pess-a", "-b", at)
        wait_until("the shard's row arrives",
                   lambda: (_shard_id(1) + 900_004,) in _merged(downstream, "id"))
        halt()
        _ends_equal(cluster, ups, downstream, "optu", "id, v, d")
        assert _index_columns(downstream)["ix"] == ["v", "d"]
        assert _varchar_length(downstream) == 20


def test_an_exec_unlock_given_while_the_worker_is_down_waits_for_the_replay(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """A shard waits at a rename; another shard of its source writes a row with the old
    name, which arrives; the worker is killed before its next checkpoint and `unlock -a
    exec` is given while it is down. The restarted worker reads that row again before it
    runs the rename (it ran it at once, and the row read again paused the source with
    1054 for good: a helper's review)."""
    ups = two_sources
    with _started(cluster, ups, downstream, tmp_path, "optk", "optimistic"):
        _on_shard(ups, 0, RENAME)
        _on_shard(ups, 0, _row(0, 1))
        wait_until("shard 0 holds its DDL", lambda: _locks(cluster, "optk") != [])
        time.sleep(2)  # a checkpoint with shard 0 held
        _on_shard(ups, 1, _row(1, 1, "d"))
        wait_until("the other shard's row arrives",
                   lambda: (_shard_id(1) + 900_001,) in _merged(downstream, "id"))
        killed = _worker_of(cluster, "pess-a")
        cluster.kill_worker(killed)
        cluster.dmctl("shard-ddl-lock", "unlock", LOCK.replace("pess-", "optk-"), "-s",
                      "pess-a", "-d", "pessa", "-t", "t_1", "-a", "exec")
        cluster.start_worker(killed)
        wait_until("the merged column is renamed", lambda: "e" in _columns(downstream))
        wait_until("shard 0's row arrives",
                   lambda: (_shard_id(0) + 900_001,) in _merged(downstream, "id"))
        for n in (1, 2, 3):
            _on_shard(ups, n, RENAME)
        for n in range(4):
            _on_shard(ups, n, _row(n, 3))
        _ends_equal(cluster, ups, downstream, "optk", "id, v, e")


def _unlock_errors(cluster: DMProcesses) -> float:
    return _master_series(cluster, 'dm_master_shard_ddl_error{task="optu",type="unlock"}')


def _master_series(cluster: DMProcesses, series: str) -> float:
    """One series of the leader's /metrics (-1: not there)."""
    with urllib.request.urlopen(f"http://{cluster.master_addr}/metrics", timeout=5) as page:
        text = page.read().decode()
    return next((float(line[len(series) + 1:]) for line in text.splitlines()
                 if line.startswith(series + " ")), -1)


def _utc_default(server: MariaDB, db: str, table: str) -> str:
    """Column ts's DEFAULT as a UTC time."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute("SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE "
                        f"TABLE_SCHEMA = '{db}' AND TABLE_NAME = '{table}' AND "
                        "COLUMN_NAME = 'ts'")
            return str(cur.fetchone()[0])
    finally:
        conn.close()
