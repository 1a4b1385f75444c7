"""Causality: keys per change, groups, conflicts, and per-key order across workers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dm.schema.table import Index
from dm.sync.causality import CONFLICT, Causality, change_keys
from dm.sync.change import RowChange

from .tables import KEYLESS, NULL_UK, PK_UK, SBTEST, col, dele, ins, pk, table, uk, upd

OTHER = ("down", "other")


def _keys(change: RowChange) -> list[int]:
    """`change_keys(change)`, which must not be None (the change has keys)."""
    keys = change_keys(change)
    assert keys is not None
    return keys


def test_one_key_per_non_null_unique_key() -> None:
    assert len(_keys(ins(PK_UK, (1, 5, "a")))) == 2
    assert len(_keys(ins(PK_UK, (1, None, "a")))) == 1


def test_update_counts_old_and_new_keys() -> None:
    keys = _keys(upd(PK_UK, (1, 5, "a"), (2, 6, "a")))
    assert len(set(keys)) == 4


def test_keys_include_the_downstream_table() -> None:
    assert change_keys(ins(SBTEST, (1, 0, "", ""))) != change_keys(
        ins(SBTEST, (1, 0, "", ""), OTHER))


def test_table_versions_share_keys_by_column_name() -> None:
    moved = table([col("x"), col("id", null=False)], [pk("id")])
    assert change_keys(ins(moved, (9, 1))) == change_keys(ins(SBTEST, (1, 0, "a", "b")))


def test_row_without_key_values_is_keyed_by_its_table() -> None:
    assert change_keys(ins(KEYLESS, (1, 2.0, 3.0, "a", 0))) == change_keys(
        ins(KEYLESS, (2, 2.0, 3.0, "b", 0)))
    assert change_keys(ins(NULL_UK, (None, "a"))) == change_keys(ins(KEYLESS, (9,) * 5))


def test_update_from_null_key_is_tied_to_the_table_key() -> None:
    keys = _keys(upd(NULL_UK, (None, "a"), (5, "a")))
    assert _keys(ins(NULL_UK, (None, "z")))[0] in keys
    assert _keys(ins(NULL_UK, (5, "z")))[0] in keys


def test_case_insensitive_strings_share_a_key() -> None:
    ci = table([col("s", "varchar", null=False, collation="utf8mb4_general_ci")], [pk("s")])
    assert change_keys(ins(ci, ("Resume ",))) == change_keys(ins(ci, ("resume",)))
    assert change_keys(ins(ci, ("resume",))) != change_keys(ins(ci, ("resumes",)))
    binary = table([col("s", "varbinary", null=False, charset="binary")], [pk("s")])
    assert change_keys(ins(binary, (b"A",))) != change_keys(ins(binary, (b"a",)))
    bin_collation = table([col("s", "varchar", null=False, collation="utf8mb4_bin")],
                          [pk("s")])
    assert change_keys(ins(bin_collation, ("A ",))) == change_keys(ins(bin_collation, ("A",)))
    assert change_keys(ins(bin_collation, ("A",))) != change_keys(ins(bin_collation, ("a",)))


@pytest.mark.parametrize(("collation", "value", "equal"), [
    ("utf8mb4_general_ci", "stra\u00dfe", "STRASE"),
    ("utf8mb4_unicode_ci", "stra\u00dfe", "strasse "),
    ("utf8mb4_general_ci", "\U0001f600", "\U0001f37a"),  # every emoji is equal
    ("utf8mb4_unicode_ci", "a\x01", "A"),  # control characters are ignorable under UCA
    ("utf8mb4_general_ci", "r\u00e9sum\u00e9", "RESUME"),
    ("utf8mb4_bin", "abc ", "abc"),
])
def test_known_collations_have_exact_keys(collation: str, value: str, equal: str) -> None:
    ci = table([col("id", null=False), col("s", "varchar", null=False, collation=collation)],
               [pk("id"), uk("s_u", "s")])
    assert _keys(ins(ci, (1, value)))[1] == _keys(ins(ci, (1, equal)))[1]
    assert _keys(ins(ci, (1, value)))[1] != _keys(ins(ci, (1, equal + "x")))[1]


@pytest.mark.parametrize(("collation", "value"), [
    ("utf8mb4_danish_ci", "\u00e5"),  # = 'aa'
    ("latin1_swedish_ci", "\u00dc"),  # = 'Y'
    ("utf8mb4_uca1400_ai_ci", "\u00f8"),  # = 'o'
    ("utf8mb4_unicode_520_ci", "a\x01"),  # = 'a'
])
def test_a_value_no_fold_models_runs_alone(collation: str, value: str) -> None:
    """The review's finding 7: such values equal others the fold cannot see, so the change
    waits for everything before it, and everything after it waits for it."""
    ci = table([col("id", null=False), col("s", "varchar", null=False, collation=collation)],
               [pk("id"), uk("s_u", "s")])
    assert change_keys(ins(ci, (1, value))) is None
    c = Causality(4)
    assert isinstance(c.assign(ins(ci, (2, "plain"))), int)
    assert c.assign(ins(ci, (1, value))) is CONFLICT  # something in flight: flush first
    c.reset()
    assert isinstance(c.assign(ins(ci, (1, value))), int)
    assert c.assign(ins(ci, (3, "other"))) is CONFLICT  # and nothing joins it in flight
    c.reset()
    assert isinstance(c.assign(ins(ci, (3, "other"))), int)


def test_a_table_with_a_prefix_or_expression_unique_key_is_serialised() -> None:
    """UNIQUE (name(4)): 'abcd-1' and 'abcd-2' collide though the values differ."""
    prefixed = table([col("id", null=False), col("name", "varchar", null=False,
                                                 collation="utf8mb4_bin")],
                     [pk("id"), Index("uk", ("name",), unique=True, partial=True)])
    c = Causality(16)
    workers = {c.assign(ins(prefixed, (i, f"abcd-{i}"))) for i in range(50)}
    assert len(workers) == 1
    functional = table([col("id", null=False)],
                       [pk("id"), Index("functional_index", (), unique=True, partial=True)])
    assert len({c.assign(ins(functional, (i,))) for i in range(50)}) == 1


def test_same_key_same_worker() -> None:
    c = Causality(8)
    workers = {c.assign(ins(SBTEST, (i, 0, "", ""))) for i in range(100)}
    assert len(workers) > 1
    for i in range(100):
        assert c.assign(dele(SBTEST, (i, 0, "", ""))) == c.assign(ins(SBTEST, (i, 0, "", "")))


def test_keyless_table_is_serialised() -> None:
    c = Causality(8)
    assert len({c.assign(ins(KEYLESS, (i, 0.0, 0.0, "", 0))) for i in range(50)}) == 1


def first_pair_on_two_workers(c: Causality) -> tuple[int, int]:
    seen: dict[Any, int] = {}
    for i in range(100):
        w = c.assign(ins(SBTEST, (i, 0, "", "")))
        assert isinstance(w, int)
        for j, other in seen.items():
            if other != w:
                return j, i
        seen[i] = w
    raise AssertionError("everything on one worker")


def test_change_joining_groups_on_two_workers_is_a_conflict() -> None:
    c = Causality(4)
    a, b = first_pair_on_two_workers(c)
    move = upd(SBTEST, (a, 0, "", ""), (b, 0, "", ""))
    assert c.assign(move) is CONFLICT
    assert c.assign(move) is CONFLICT, "a conflict changes nothing until reset"
    c.reset()
    assert isinstance(c.assign(move), int)


def test_groups_on_one_worker_merge_without_conflict() -> None:
    c = Causality(1)
    c.assign(ins(SBTEST, (1, 0, "", "")))
    c.assign(ins(SBTEST, (2, 0, "", "")))
    assert c.assign(upd(SBTEST, (1, 0, "", ""), (2, 0, "", ""))) == 0


def test_a_full_window_ends_with_a_conflict() -> None:
    c = Causality(2, max_keys=2)
    c.assign(ins(SBTEST, (1, 0, "", "")))
    c.assign(ins(SBTEST, (2, 0, "", "")))
    assert c.assign(ins(SBTEST, (1, 0, "", ""))) is CONFLICT, "full, even for a known key"
    c.reset()
    assert isinstance(c.assign(ins(SBTEST, (3, 0, "", ""))), int)


def test_worker_count_below_one_means_one() -> None:
    assert Causality(0).assign(ins(SBTEST, (1, 0, "", ""))) == 0


# --- property: simulated workers never reorder two changes that share a key --------------

def reference_keys(change: RowChange) -> set[Any]:
    """Keys written out by hand for PK_UK (id, u nullable unique, v) and NULL_UK (u, v)."""
    keys: set[Any] = set()
    for row in (change.before, change.after):
        if row is None:
            continue
        if change.table is PK_UK:
            keys |= {("id", row[0])} | ({("u", row[1])} if row[1] is not None else set())
        else:
            keys.add(("u", row[0]) if row[0] is not None else "table")
    return keys


KEY = st.one_of(st.none(), st.integers(0, 3))
PK_UK_ROW = st.tuples(st.integers(0, 6), KEY, st.just("v"))
NULL_UK_ROW = st.tuples(KEY, st.just("v"))
CHANGE = st.one_of(*(st.one_of(st.builds(ins, st.just(info), row),
                               st.builds(dele, st.just(info), row),
                               st.builds(upd, st.just(info), row, row))
                     for info, row in ((PK_UK, PK_UK_ROW), (NULL_UK, NULL_UK_ROW))))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(CHANGE, max_size=40), st.integers(1, 4))
def test_per_key_order_is_preserved(changes: list[RowChange], worker_count: int) -> None:
    c = Causality(worker_count)
    epoch, placed = 0, []  # (epoch, worker) of each change
    for change in changes:
        worker = c.assign(change)
        if worker is CONFLICT:  # flush every worker: a new epoch starts
            epoch += 1
            c.reset()
            worker = c.assign(change)
        assert isinstance(worker, int) and 0 <= worker < worker_count
        placed.append((epoch, worker))
    for i, first in enumerate(changes):
        for j in range(i + 1, len(changes)):
            if first.table is changes[j].table and (
                    reference_keys(first) & reference_keys(changes[j])):
                # same epoch and worker (one queue, in order) or a later epoch
                assert placed[i] == placed[j] or placed[i][0] < placed[j][0]
