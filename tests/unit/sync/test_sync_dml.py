"""Golden SQL of dm.sync.dml: WHERE choice, normal and safe mode, multi-row batches."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dm.sync import dml
from dm.sync.change import RowChange
from dm.sync.dml import build_statements

from .tables import (
    KEYLESS,
    NN_UK,
    NULL_UK,
    PK_UK,
    SBTEST,
    col,
    dele,
    ins,
    pk,
    table,
    uk,
    upd,
)

T = "`down`.`t`"
SB = "(`id`,`k`,`c`,`pad`)"


def one(changes: list[RowChange], safe: bool = False, **kw: Any) -> list[tuple[str, list[Any]]]:
    return build_statements(changes, safe, **kw)


# --- single changes, normal mode ---------------------------------------------------------

def test_insert() -> None:
    assert one([ins(SBTEST, (1, 2, "c", "p"))]) == [
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s)", [1, 2, "c", "p"])]


def test_delete_by_pk_has_limit_1() -> None:
    assert one([dele(SBTEST, (1, 2, "c", "p"))]) == [
        (f"DELETE FROM {T} WHERE `id`=%s LIMIT 1", [1])]


def test_update_with_two_unique_keys_is_a_plain_update() -> None:
    assert one([upd(PK_UK, (1, 5, "a"), (1, 6, "b"))]) == [
        (f"UPDATE {T} SET `id`=%s,`u`=%s,`v`=%s WHERE `id`=%s LIMIT 1", [1, 6, "b", 1])]


def test_update_with_only_the_pk_is_an_upsert() -> None:
    assert one([upd(SBTEST, (1, 2, "c", "p"), (1, 3, "c", "p"))]) == [
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s) ON DUPLICATE KEY UPDATE "
         "`k`=VALUES(`k`),`c`=VALUES(`c`),`pad`=VALUES(`pad`)", [1, 3, "c", "p"])]


def test_update_changing_the_pk_is_a_plain_update() -> None:
    assert one([upd(SBTEST, (1, 2, "c", "p"), (9, 2, "c", "p"))], compact=False) == [
        (f"UPDATE {T} SET `id`=%s,`k`=%s,`c`=%s,`pad`=%s WHERE `id`=%s LIMIT 1",
         [9, 2, "c", "p", 1])]


# --- WHERE choice -------------------------------------------------------------------------

def test_where_uses_first_not_null_unique_key_without_pk() -> None:
    info = table([col("a"), col("b", null=False), col("v")],
                  [uk("a", "a"), uk("b", "b")])
    assert one([dele(info, (1, 2, 3))]) == [(f"DELETE FROM {T} WHERE `b`=%s LIMIT 1", [2])]


def test_where_uses_composite_not_null_unique_key() -> None:
    assert one([dele(NN_UK, (1, 2, None))]) == [
        (f"DELETE FROM {T} WHERE `a`=%s AND `b`=%s LIMIT 1", [1, 2])]


def test_where_uses_nullable_unique_key_when_this_row_has_values() -> None:
    assert one([dele(NULL_UK, (7, "x"))]) == [(f"DELETE FROM {T} WHERE `u`=%s LIMIT 1", [7])]


def test_where_falls_back_to_all_columns_when_the_key_is_null() -> None:
    assert one([dele(NULL_UK, (None, "x"))]) == [
        (f"DELETE FROM {T} WHERE `u` IS NULL AND `v`=%s LIMIT 1", ["x"])]


def test_all_columns_where_skips_generated_and_matches_floats_in_a_range() -> None:
    [(sql, args)] = one([dele(KEYLESS, (1, 2.5, 0.125, None, 99))])
    assert sql == (f"DELETE FROM {T} WHERE `a`=%s AND `f` BETWEEN %s AND %s AND "
                   "`d` BETWEEN %s AND %s AND `s` IS NULL ORDER BY ABS(`f`-%s)+ABS(`d`-%s) "
                   "LIMIT 1")
    assert args[0] == 1
    assert args[1] < 2.5 < args[2] and args[2] - args[1] == pytest.approx(2 * 2.5e-5)
    assert args[3] < 0.125 < args[4] and args[4] - args[3] == pytest.approx(2 * 0.125e-13)
    assert args[5:] == [2.5, 0.125]


def test_zero_float_is_compared_exactly() -> None:
    [(sql, args)] = one([dele(KEYLESS, (1, 0.0, -0.0, "s", 0))])
    assert "`f`=%s AND `d`=%s" in sql and args == [1, 0.0, -0.0, "s"]


def test_keyless_update_uses_all_columns_and_never_writes_generated() -> None:
    assert one([upd(KEYLESS, (1, None, None, "a", 5), (2, None, None, "a", 6))]) == [
        (f"UPDATE {T} SET `a`=%s,`f`=%s,`d`=%s,`s`=%s WHERE `a`=%s AND `f` IS NULL AND "
         "`d` IS NULL AND `s`=%s LIMIT 1", [2, None, None, "a", 1, "a"])]


def test_insert_skips_generated_columns() -> None:
    assert one([ins(KEYLESS, (1, None, 2.0, "s", 77))]) == [
        (f"INSERT INTO {T} (`a`,`f`,`d`,`s`) VALUES (%s,%s,%s,%s)", [1, None, 2.0, "s"])]


def test_generated_key_column_is_still_used_to_find_the_row() -> None:
    info = table([col("a", null=False), col("g", null=False, generated=True)], [pk("g")])
    assert one([dele(info, (1, 2)), ins(info, (3, 4))], compact=False) == [
        (f"DELETE FROM {T} WHERE `g`=%s LIMIT 1", [2]),
        (f"INSERT INTO {T} (`a`) VALUES (%s)", [3])]


# --- quoting -----------------------------------------------------------------------------

def test_weird_names_are_quoted_and_percent_is_escaped() -> None:
    info = table([col("offset", null=False), col("a`b"), col("50% off"), col("x y")],
                 [pk("offset")])
    target = ("my`db", "100%")
    statements = build_statements(
        [ins(info, (1, 2, 3, 4), target), dele(info, (5, 6, 7, 8), target),
         upd(info, (9, 0, 0, 0), (10, 0, 0, 0), target)], False, compact=False)
    head = "`my``db`.`100%%`"
    assert statements == [
        (f"INSERT INTO {head} (`offset`,`a``b`,`50%% off`,`x y`) VALUES (%s,%s,%s,%s)",
         [1, 2, 3, 4]),
        (f"DELETE FROM {head} WHERE `offset`=%s LIMIT 1", [5]),
        (f"UPDATE {head} SET `offset`=%s,`a``b`=%s,`50%% off`=%s,`x y`=%s "
         "WHERE `offset`=%s LIMIT 1", [10, 0, 0, 0, 9])]
    for sql, args in statements:  # PyMySQL formats with `%`: one %s per argument
        formatted = sql % tuple(["?"] * len(args))
        assert formatted.count("?") == len(args) and "%" in formatted


# --- safe mode ---------------------------------------------------------------------------

def test_safe_insert_is_replace() -> None:
    assert one([ins(SBTEST, (1, 2, "c", "p"))], safe=True) == [
        (f"REPLACE INTO {T} {SB} VALUES (%s,%s,%s,%s)", [1, 2, "c", "p"])]


def test_safe_update_keeping_the_key_is_one_replace() -> None:
    assert one([upd(PK_UK, (1, 5, "a"), (1, 6, "b"))], safe=True) == [
        (f"REPLACE INTO {T} (`id`,`u`,`v`) VALUES (%s,%s,%s)", [1, 6, "b"])]


def test_safe_update_changing_the_key_is_delete_then_replace() -> None:
    assert one([upd(PK_UK, (1, 5, "a"), (2, 5, "a"))], safe=True, compact=False) == [
        (f"DELETE FROM {T} WHERE `id`=%s LIMIT 1", [1]),
        (f"REPLACE INTO {T} (`id`,`u`,`v`) VALUES (%s,%s,%s)", [2, 5, "a"])]


def test_safe_keyless_update_is_delete_one_row_then_replace() -> None:
    assert one([upd(KEYLESS, (1, None, None, "a", 0), (2, None, None, "a", 0))],
               safe=True) == [
        (f"DELETE FROM {T} WHERE `a`=%s AND `f` IS NULL AND `d` IS NULL AND `s`=%s LIMIT 1",
         [1, "a"]),
        (f"REPLACE INTO {T} (`a`,`f`,`d`,`s`) VALUES (%s,%s,%s,%s)", [2, None, None, "a"])]


def test_safe_delete_is_unchanged() -> None:
    assert one([dele(SBTEST, (1, 2, "c", "p"))], safe=True) == one(
        [dele(SBTEST, (1, 2, "c", "p"))])


# --- batches -----------------------------------------------------------------------------

def sb(i: int, k: int = 0) -> tuple[Any, ...]:
    return (i, k, f"c{i}", "p")


def test_sysbench_batch_in_safe_mode_is_one_delete_and_one_replace() -> None:
    changes = [upd(SBTEST, sb(1), sb(1, 1)), upd(SBTEST, sb(2), sb(2, 5)),
               dele(SBTEST, sb(3)), ins(SBTEST, sb(3, 7)), dele(SBTEST, sb(4))]
    assert one(changes, safe=True) == [
        (f"DELETE FROM {T} WHERE `id`=%s LIMIT 1", [4]),
        (f"REPLACE INTO {T} {SB} VALUES (%s,%s,%s,%s),(%s,%s,%s,%s),(%s,%s,%s,%s)",
         [*sb(1, 1), *sb(2, 5), *sb(3, 7)])]


def test_batch_in_normal_mode_orders_deletes_upserts_replaces_inserts() -> None:
    changes = [ins(SBTEST, sb(9)), upd(SBTEST, sb(1), sb(1, 1)), dele(SBTEST, sb(3)),
               ins(SBTEST, sb(3, 7)), dele(SBTEST, sb(4)), dele(SBTEST, sb(5))]
    up = "ON DUPLICATE KEY UPDATE `k`=VALUES(`k`),`c`=VALUES(`c`),`pad`=VALUES(`pad`)"
    assert one(changes) == [
        (f"DELETE FROM {T} WHERE `id` IN (%s,%s)", [4, 5]),
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s) {up}", [*sb(1, 1)]),
        (f"REPLACE INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(3, 7)]),
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(9)])]


def test_composite_key_deletes_use_row_constructors() -> None:
    assert one([dele(NN_UK, (1, 2, 0)), dele(NN_UK, (3, 4, 0))]) == [
        (f"DELETE FROM {T} WHERE (`a`,`b`) IN ((%s,%s),(%s,%s))", [1, 2, 3, 4])]


def test_keyless_batch_keeps_order_and_deletes_rows_one_by_one() -> None:
    a, b, c = (1, None, None, "a", 0), (2, None, None, "b", 0), (3, None, None, "c", 0)
    assert one([ins(KEYLESS, a), ins(KEYLESS, b), dele(KEYLESS, a), dele(KEYLESS, b),
                ins(KEYLESS, c)]) == [
        (f"INSERT INTO {T} (`a`,`f`,`d`,`s`) VALUES (%s,%s,%s,%s),(%s,%s,%s,%s)",
         [*a[:4], *b[:4]]),
        (f"DELETE FROM {T} WHERE `a`=%s AND `f` IS NULL AND `d` IS NULL AND `s`=%s LIMIT 1",
         [1, "a"]),
        (f"DELETE FROM {T} WHERE `a`=%s AND `f` IS NULL AND `d` IS NULL AND `s`=%s LIMIT 1",
         [2, "b"]),
        (f"INSERT INTO {T} (`a`,`f`,`d`,`s`) VALUES (%s,%s,%s,%s)", [*c[:4]])]


def test_null_key_rows_of_a_nullable_unique_key_table_keep_order() -> None:
    assert one([ins(NULL_UK, (None, "a")), dele(NULL_UK, (None, "a")),
                ins(NULL_UK, (1, "b"))], safe=True) == [
        (f"REPLACE INTO {T} (`u`,`v`) VALUES (%s,%s)", [None, "a"]),
        (f"DELETE FROM {T} WHERE `u` IS NULL AND `v`=%s LIMIT 1", ["a"]),
        (f"REPLACE INTO {T} (`u`,`v`) VALUES (%s,%s)", [1, "b"])]


def test_without_compaction_same_key_changes_keep_their_order() -> None:
    changes = [ins(SBTEST, sb(1)), dele(SBTEST, sb(1)), ins(SBTEST, sb(1, 2))]
    assert one(changes, compact=False) == [
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(1)]),
        (f"DELETE FROM {T} WHERE `id`=%s LIMIT 1", [1]),
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(1, 2)])]


def test_without_multiple_rows_every_row_is_a_statement() -> None:
    changes = [ins(SBTEST, sb(i)) for i in range(3)]
    assert one(changes, multiple_rows=False) == [
        (f"INSERT INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(i)]) for i in range(3)]


def test_big_batches_are_cut_into_statements_of_bounded_size() -> None:
    n = dml.MAX_ROWS_PER_STATEMENT
    statements = one([ins(SBTEST, sb(i)) for i in range(n + 3)], safe=True)
    assert [len(args) // 4 for _, args in statements] == [n, 3]
    deletes = one([dele(SBTEST, sb(i)) for i in range(n + 1)])
    assert [len(args) for _, args in deletes] == [n, 1]
    assert deletes[1][0].endswith("LIMIT 1")


def test_long_values_cut_statements_by_bytes() -> None:
    """Blobs of 3/4 of the limit never share a statement; a larger one goes alone."""
    blobs = table([col("id", null=False), col("b", "longblob")], [pk("id")])
    part = dml.MAX_STATEMENT_BYTES * 3 // 4
    rows = [(1, b"x" * part), (2, b"y" * part), (3, None), (4, b"z" * 3 * part),
            (5, "short")]
    statements = one([ins(blobs, r) for r in rows], safe=True)
    assert [[args[i] for i in range(0, len(args), 2)] for _, args in statements] == \
        [[1], [2, 3], [4], [5]]
    assert all(sum(len(a) for a in args if isinstance(a, bytes)) <= dml.MAX_STATEMENT_BYTES
               for _, args in statements if len(args) > 2)


def test_table_versions_of_one_target_get_their_own_statements() -> None:
    wider = table([*SBTEST.columns, col("extra")], list(SBTEST.indexes))
    statements = one([ins(SBTEST, sb(1)), ins(wider, (*sb(2), 0))], safe=True)
    assert statements == [
        (f"REPLACE INTO {T} {SB} VALUES (%s,%s,%s,%s)", [*sb(1)]),
        (f"REPLACE INTO {T} (`id`,`k`,`c`,`pad`,`extra`) VALUES (%s,%s,%s,%s,%s)",
         [*sb(2), 0])]


def test_python_values_pass_through_as_arguments() -> None:
    info = table([col("id", null=False), col("d", "decimal"), col("t", "datetime"),
                  col("b", "blob")], [pk("id")])
    row = (1, Decimal("1.50"), datetime(2024, 1, 2, 3, 4, 5), b"\x00\xff")
    assert one([ins(info, row)])[0][1] == list(row)


def test_empty_batch() -> None:
    assert build_statements([], True) == []


# --- property: every statement's placeholders match its arguments ------------------------

ROWS = st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3)),
                 st.one_of(st.none(), st.text(max_size=2)))


@st.composite
def batches(draw: st.DrawFn) -> list[RowChange]:
    info = draw(st.sampled_from([PK_UK, NULL_UK_3, KEYLESS_3]))
    out = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from("iud"))
        a, b = draw(ROWS), draw(ROWS)
        out.append(ins(info, a) if kind == "i" else dele(info, a) if kind == "d"
                   else upd(info, a, b))
    return out


NULL_UK_3 = table([col("u"), col("v"), col("w", "varchar")], [uk("u", "u")])
KEYLESS_3 = table([col("a"), col("b"), col("c", "float")], [])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(batches(), st.booleans(), st.booleans(), st.booleans())
def test_placeholders_match_arguments(changes: list[RowChange], safe: bool, compact: bool,
                                      multi: bool) -> None:
    for sql, args in build_statements(changes, safe, compact=compact, multiple_rows=multi):
        assert sql.replace("%%", "").count("%s") == len(args)
