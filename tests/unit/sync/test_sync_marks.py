"""Keyless tables' exactly-once marks name a row by its transaction (the GTID set before
it) and its ordinal among its table's rows there, so a mark read back from the downstream
places the rows of the same transaction read again, on this server or on a promoted
replica whose binlog files are numbered otherwise."""

from __future__ import annotations

from dm.binlog.location import Location, MariaDBGTIDSet
from dm.sync.applied import Mark
from dm.sync.position import BinlogPosition

BEFORE = "0-1-100"


def _at(file: str, pos: int, gtid: str | None = BEFORE) -> Location:
    return Location(file, pos, None if gtid is None else MariaDBGTIDSet.parse(gtid))


def test_rows_are_numbered_per_table_across_a_transactions_events() -> None:
    pos = BinlogPosition(_at("binlog.000004", 4))
    assert [pos.number_rows(("d", "k"), 3), pos.number_rows(("d", "t"), 2),
            pos.number_rows(("d", "k"), 4)] == [0, 0, 3]
    pos.commit(900, "0-1-101")
    assert pos.number_rows(("d", "k"), 1) == 0  # a new transaction


def test_a_stored_mark_places_the_same_transaction_on_another_server() -> None:
    stored = Mark(_at("binlog.000004", 700), 5)  # read back: its own set object
    again = _at("binlog.000002", 300)  # the same transaction on the promoted replica
    assert not again < stored.at and not stored.at < again  # its transaction: rows decide
    assert stored.reaches(Mark(again, 5)) and not stored.reaches(Mark(again, 6))
    later = _at("binlog.000002", 200, "0-1-101")  # the next transaction, lower position
    assert stored.at < later and not stored.reaches(Mark(later, 0))
    assert Mark(later, 0).reaches(stored)


def test_without_gtids_marks_are_ordered_by_file_position_and_row() -> None:
    mark = Mark(_at("binlog.000004", 700, None), 5)
    assert mark.reaches(Mark(_at("binlog.000004", 650, None), 9))
    assert mark.reaches(Mark(_at("binlog.000004", 700, None), 5))
    assert not mark.reaches(Mark(_at("binlog.000004", 700, None), 6))
    assert not mark.reaches(Mark(_at("binlog.000005", 4, None), 0))


def test_inside_one_read_of_a_transaction_position_decides() -> None:
    pos = BinlogPosition(_at("binlog.000004", 4))
    first, second = pos.at(500), pos.at(800)  # one set object: the transaction being read
    assert first < second
    assert Mark(second, 2).reaches(Mark(first, 7))


def test_a_mark_places_transactions_by_their_own_gtid_whatever_the_servers_order() -> None:
    """The old server logged C, T1 (domain 0), T2 (domain 1); the mark is T1's row 0. A
    promoted replica logged C, T2, T1: T1's set before it there is C+T2, past the mark's
    set, yet T1 is the mark's transaction (a helper's review: applied twice)."""
    mark = Mark(_at("binlog.000004", 700, "0-1-100"), 0, "0-1-101")
    assert mark.place(_at("binlog.000002", 500, "0-1-100,1-1-7"), "0-1-101") == 0
    assert mark.reaches(Mark(_at("binlog.000002", 500), 0, "0-1-101"))
    assert not mark.reaches(Mark(_at("binlog.000002", 500), 1, "0-1-101"))
    assert mark.place(_at("binlog.000002", 400, "0-1-100"), "1-1-7") == 1  # T2: not applied
    assert mark.place(_at("binlog.000002", 300, "0-1-99"), "0-1-100") == -1  # before it


def test_a_checkpoint_passes_a_mark_once_it_holds_the_marks_transaction() -> None:
    mark = Mark(_at("binlog.000004", 700, "0-1-100"), 3, "0-1-101")
    assert not mark.passed(_at("binlog.000004", 650, "0-1-100"))
    assert mark.passed(_at("binlog.000002", 10, "0-1-101,1-1-7"))  # another server
    assert not mark.passed(_at("binlog.000009", 10, "0-1-100,1-1-7"))
    positional = Mark(_at("binlog.000004", 700, None), 3)
    assert positional.passed(_at("binlog.000004", 800, None))
    assert not positional.passed(_at("binlog.000004", 600, None))
