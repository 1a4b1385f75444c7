"""Pessimistic shard groups of one source: which shards hold, when a group is complete,
where the checkpoint stays, and which DDL events a resolved lock covers."""

import pytest

from dm import errors
from dm.binlog.location import Location
from dm.sync.shardgroups import EXECUTE, Held, Resolved, ShardGroups, SoleSource, lock_id

T1, T2, OTHER = ("db_1", "t_1"), ("db_2", "t_1"), ("db_1", "other")
TARGET = ("db", "t")
ADD = ("ALTER TABLE `db`.`t` ADD COLUMN c INT",)


def _route(schema: str, table: str) -> tuple[str, str]:
    return TARGET if table == "t_1" else (schema, table)


def _held(pos: int, statements: tuple[str, ...] = ADD) -> Held:
    return Held(statements, Location("bin.000001", pos), Location("bin.000001", pos - 10))


def test_a_group_is_ready_once_every_shard_holds_the_same_ddl() -> None:
    groups = ShardGroups("task", "src", _route)
    assert groups.hold(T1, _held(100)) == TARGET
    assert groups.is_held(T1) and not groups.is_held(T2)
    assert not groups.ready(TARGET, [T1, T2])
    assert groups.frozen_at() == Location("bin.000001", 90)
    groups.hold(T2, _held(200))
    assert groups.ready(TARGET, [T1, T2])
    assert groups.held_point(T2) == Location("bin.000001", 190)
    assert groups.held_point(OTHER) is None
    status = groups.status(lambda target: [T1, T2])
    assert status[0]["target"] == "`db`.`t`" and status[0]["unsynced"] == []
    assert status[0]["synced"] == ["`db_1`.`t_1`", "`db_2`.`t_1`"]


def test_the_same_ddl_spelled_otherwise_is_the_same() -> None:
    groups = ShardGroups("task", "src", _route)
    groups.hold(T1, _held(100))
    groups.hold(T2, _held(200, ("alter table db.t  add   c int;",)))
    assert groups.ready(TARGET, [T1, T2])


def test_a_shard_holding_another_ddl_is_36008() -> None:
    groups = ShardGroups("task", "src", _route)
    groups.hold(T1, _held(100))
    groups.hold(T2, _held(200, ("alter table `db`.`t` add d int",)))
    with pytest.raises(errors.DMError) as info:
        groups.ready(TARGET, [T1, T2])
    assert info.value.code == 36008 and "`db_2`.`t_1`" in info.value.message
    assert "bin.000001:200" in info.value.message
    assert groups.all_held(TARGET, [T1, T2])  # status asks without raising


def test_a_dropped_shard_leaves_its_group() -> None:
    groups = ShardGroups("task", "src", _route)
    groups.hold(T1, _held(100))
    groups.leave(T1)
    assert not groups.is_held(T1) and groups.held == {} and groups.frozen_at() is None


def test_release_remembers_which_ddl_events_the_lock_covered() -> None:
    groups = ShardGroups("task", "src", _route)
    groups.hold(T1, _held(100))
    done = Resolved(lock_id("task", TARGET), ADD, {T1: Location("bin.000001", 100)})
    groups.release(TARGET, done)
    assert not groups.is_held(T1)
    assert groups.resolved_at(T1, Location("bin.000001", 100))
    assert not groups.resolved_at(T1, Location("bin.000001", 300))
    assert not groups.resolved_at(T2, Location("bin.000001", 100))
    assert not done.passed(lambda t: Location("bin.000001", 100))
    assert done.passed(lambda t: Location("bin.000001", 101))


def test_lock_ids_are_dms() -> None:
    assert lock_id("task", TARGET) == "task-`db`.`t`"


def test_a_sole_source_runs_a_lock_at_once_and_remembers_it_until_forgotten() -> None:
    locks = SoleSource()
    held = {T1: _held(100), T2: _held(50)}
    assert locks.attend("l", held) == EXECUTE
    done = locks.executed("l", held)
    assert done.shards == {T1: Location("bin.000001", 100), T2: Location("bin.000001", 50)}
    assert locks.resolved() == [done]
    locks.forget([done])
    assert locks.resolved() == []
