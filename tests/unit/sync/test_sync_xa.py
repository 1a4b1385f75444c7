"""The reader's held XA transactions: their records come back in order, whether they
stayed in memory or were spilled to a file, and the memory they take is given back."""

from __future__ import annotations

from dm.core.transactions import Xid
from dm.sync.records import ROWS, Record
from dm.sync.xa import XaTransactions


def _rows(n: int, size: int) -> Record:
    return (ROWS, 100 + n, 0, "db", "t", "insert", [(n, "x" * size)], size)


def test_held_records_spill_past_the_budget_and_come_back_in_order() -> None:
    xa = XaTransactions(memory_bytes=1000)
    xa.start()
    records = [_rows(n, 300) for n in range(10)]  # 3 fit in memory, 7 go to the file
    assert xa.open is not None
    for record in records:
        xa.open.append(record)
    xa.prepare(Xid(b"a"))
    xa.start()  # a second one while the first is prepared: the budget is spent
    assert xa.open is not None
    xa.open.append(_rows(99, 300))
    xa.prepare(Xid(b"b"))
    first = xa.end(Xid(b"a"))
    assert first is not None and list(first) == records
    first.close()
    second = xa.end(Xid(b"b"))
    assert second is not None and list(second) == [_rows(99, 300)]
    second.close()
    xa.start()  # the first's memory is back
    assert xa.open is not None
    for record in records[:3]:
        xa.open.append(record)
    assert xa.open._file is None


def test_an_unknown_xid_has_nothing_held() -> None:
    xa = XaTransactions()
    assert xa.end(Xid(b"never")) is None
    xa.start()
    held = xa.take_open()
    assert held is not None and list(held) == [] and xa.open is None
