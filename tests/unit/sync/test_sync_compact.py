"""Compaction rules, and the proof by model: a batch and its compaction leave a table alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dm.sync.change import DELETE, INSERT, REPLACE, UPDATE, RowChange, identity_key
from dm.sync.compact import compact

from .tables import KEYLESS, NN_UK, NULL_UK, PK_UK, SBTEST, col, dele, ins, pk, table, upd

A, A2, A3 = (1, 10, "a"), (1, 11, "b"), (1, 12, "c")
B = (2, 20, "x")


def kinds(changes: list[RowChange] | None) -> list[tuple[str, Any, Any]]:
    assert changes is not None
    return [(c.kind.value, c.before, c.after) for c in changes]


def test_insert_then_update_is_insert() -> None:
    assert kinds(compact([ins(PK_UK, A), upd(PK_UK, A, A2)])) == [("insert", None, A2)]


def test_update_then_update_is_one_update_from_first_before_to_last_after() -> None:
    assert kinds(compact([upd(PK_UK, A, A2), upd(PK_UK, A2, A3)])) == [("update", A, A3)]


def test_anything_then_delete_is_delete() -> None:
    for first in (ins(PK_UK, A), upd(PK_UK, A, A2), dele(PK_UK, A)):
        assert kinds(compact([first, dele(PK_UK, A2)])) == [("delete", A2, None)]


def test_delete_then_insert_is_replace() -> None:
    assert kinds(compact([dele(PK_UK, A), ins(PK_UK, A2)])) == [("replace", A, A2)]


def test_replace_then_update_stays_replace() -> None:
    got = compact([dele(PK_UK, A), ins(PK_UK, A2), upd(PK_UK, A2, A3)])
    assert kinds(got) == [("replace", A, A3)]


def test_delete_then_update_leaves_the_delete() -> None:
    assert kinds(compact([dele(PK_UK, A), upd(PK_UK, A, A2)])) == [("delete", A, None)]


def test_key_changing_update_is_split_into_delete_and_insert() -> None:
    moved = (3, 10, "a")
    assert kinds(compact([upd(PK_UK, A, moved)])) == [("delete", A, None),
                                                      ("insert", None, moved)]


def test_key_changing_update_merges_both_halves() -> None:
    moved = (2, 10, "a")
    got = compact([ins(PK_UK, A), dele(PK_UK, B), upd(PK_UK, A, moved)])
    assert kinds(got) == [("delete", A, None), ("replace", B, moved)]


def test_net_change_takes_the_place_of_the_latest_change() -> None:
    got = compact([ins(PK_UK, A), ins(PK_UK, B), upd(PK_UK, A, A2)])
    assert kinds(got) == [("insert", None, B), ("insert", None, A2)]


def test_location_of_a_net_change_is_the_latest() -> None:
    first = ins(PK_UK, A)._replace(location=1)
    second = upd(PK_UK, A, A2)._replace(location=2)
    [net] = compact([first, second]) or []
    assert net.location == 2


def test_tables_without_identity_key_are_never_compacted() -> None:
    assert compact([ins(KEYLESS, (1, 2.0, 3.0, "s", 0))]) is None
    assert compact([ins(NULL_UK, (1, "a")), dele(NULL_UK, (1, "a"))]) is None


def test_table_versions_with_different_keys_are_not_compacted() -> None:
    other = table([col("id", null=False), col("u", null=False), col("v")], [pk("u")])
    assert compact([ins(PK_UK, A), ins(other, (1, 2, 3))]) is None


def test_table_versions_with_the_same_key_compact_together() -> None:
    wider = table([*PK_UK.columns, col("w")], list(PK_UK.indexes))
    assert kinds(compact([ins(PK_UK, A), dele(wider, (*A, 0))])) == [
        ("delete", (*A, 0), None)]


def test_composite_key() -> None:
    got = compact([ins(NN_UK, (1, 2, "a")), upd(NN_UK, (1, 2, "a"), (1, 2, "b")),
                   ins(NN_UK, (1, 3, "c"))])
    assert kinds(got) == [("insert", None, (1, 2, "b")), ("insert", None, (1, 3, "c"))]


def test_empty() -> None:
    assert compact([]) == []


# --- the model ---------------------------------------------------------------------------

Model = dict[Any, tuple[Any, ...]]


def apply(model: Model, change: RowChange) -> None:
    """What each kind does to a table, by key (REPLACE: whatever was there, now `after`)."""
    key = identity_key(change.table)
    assert key is not None
    if change.kind in (UPDATE, DELETE, REPLACE) and change.before is not None:
        model.pop(key.of(change.before), None)
    if change.kind in (INSERT, UPDATE, REPLACE):
        assert change.after is not None
        model[key.of(change.after)] = change.after


@st.composite
def histories(draw: st.DrawFn) -> tuple[Model, list[RowChange]]:
    """A starting table and a consistent stream of changes against it (keys 0..5)."""
    info = SBTEST
    keys = st.integers(0, 5)
    start: Model = {k: (k, draw(st.integers(0, 3)), "c", "p")
                    for k in draw(st.sets(keys, max_size=4))}
    state = dict(start)
    changes = []
    for _ in range(draw(st.integers(0, 25))):
        op = draw(st.sampled_from(["insert", "update", "move", "delete"]))
        present = sorted(state)
        absent = [k for k in range(6) if k not in state]
        value = draw(st.integers(0, 3))
        if op == "insert" and absent:
            k = draw(st.sampled_from(absent))
            change = ins(info, (k, value, "c", "p"))
        elif op == "update" and present:
            k = draw(st.sampled_from(present))
            change = upd(info, state[k], (k, value, "c", str(value)))
        elif op == "move" and present and absent:
            k, k2 = draw(st.sampled_from(present)), draw(st.sampled_from(absent))
            change = upd(info, state[k], (k2, value, "c", "p"))
        elif op == "delete" and present:
            change = dele(info, state[draw(st.sampled_from(present))])
        else:
            continue
        apply(state, change)
        changes.append(change)
    return start, changes


@settings(max_examples=200, deadline=None, derandomize=True)
@given(histories())
def test_compaction_leaves_the_same_table(history: tuple[Model, list[RowChange]]) -> None:
    start, changes = history
    expected, got = dict(start), dict(start)
    for change in changes:
        apply(expected, change)
    nets = compact(changes)
    assert nets is not None
    for change in nets:
        apply(got, change)
    assert got == expected
    key = identity_key(SBTEST)
    assert key is not None
    keys = [key.of(c.before if c.kind is DELETE else c.after) for c in nets]
    assert len(keys) == len(set(keys)), "one net change per key"


@settings(max_examples=100, deadline=None, derandomize=True)
@given(histories())
def test_compaction_is_idempotent(history: tuple[Model, list[RowChange]]) -> None:
    once = compact(history[1])
    assert once is not None
    assert compact(once) == once
