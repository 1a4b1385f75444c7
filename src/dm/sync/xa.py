"""XA transactions in the reader: a prepared one's rows are held until its end.

MariaDB and MySQL log an XA transaction's rows at its XA PREPARE (XA START, the rows,
XA END, an XA_PREPARE event) and its XA COMMIT or XA ROLLBACK later, as a group of its
own, with any number of other transactions in between. Applied at the prepare, the rows
of a transaction rolled back afterwards would stay downstream; so the reader holds them
and sends them at the XA COMMIT (records.py), or drops them at the XA ROLLBACK.
Upstream, a prepared transaction keeps its rows locked until its end, so no transaction
in between touched them: applying them at the commit changes no outcome.

The syncer's checkpoint lists the prepared transactions with where their event groups
start; a restart reads those groups again first (reader.py), so nothing held is lost.

What is held stays in memory up to MEMORY_BYTES of rows events over all the prepared
transactions together; beyond that, each one's further rows go to a temporary file.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Final

from dm.core.transactions import Xid
from dm.sync.records import Record

MEMORY_BYTES: Final = 16 << 20


class _Budget:
    """The memory the held transactions may still take, shared by all of them."""

    def __init__(self, size: int) -> None:
        self.left = size


class HeldRecords:
    """One XA transaction's ROWS records, in their order: the first ones in memory while
    the budget lasts, the rest spilled to a temporary file."""

    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self._memory: list[Record] = []
        self._memory_bytes = 0
        self._file: IO[bytes] | None = None

    def append(self, record: Record) -> None:
        size = record[7]  # a ROWS record's event size
        if self._file is None and size <= self._budget.left:
            self._memory.append(record)
            self._memory_bytes += size
            self._budget.left -= size
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pydm-xa-")  # noqa: SIM115 - close()
        pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[Record]:
        yield from self._memory
        if self._file is not None:
            self._file.seek(0)
            while True:
                try:
                    yield pickle.load(self._file)
                except EOFError:
                    return

    def close(self) -> None:
        self._budget.left += self._memory_bytes
        self._memory, self._memory_bytes = [], 0
        if self._file is not None:
            self._file.close()
            self._file = None


class XaTransactions:
    """The reader's XA transactions: the one being read (`open`, from its XA START to its
    XA_PREPARE event) and the prepared ones, by xid."""

    def __init__(self, memory_bytes: int | None = None) -> None:
        self._budget = _Budget(MEMORY_BYTES if memory_bytes is None else memory_bytes)
        self.open: HeldRecords | None = None
        self._prepared: dict[Xid, HeldRecords] = {}

    def start(self) -> None:
        self.open = HeldRecords(self._budget)

    def take_open(self) -> HeldRecords | None:
        """The transaction being read, which commits in one phase: nothing is held."""
        held, self.open = self.open, None
        return held

    def prepare(self, xid: Xid) -> None:
        """The transaction being read is prepared: held until `end(xid)`. One held
        already (read again at the start, its rows whatever the tables' `until`) stays."""
        assert self.open is not None
        if xid in self._prepared:
            self.open.close()
        else:
            self._prepared[xid] = self.open
        self.open = None

    def end(self, xid: Xid) -> HeldRecords | None:
        """The prepared transaction `xid`'s records (None: prepared before the reader
        started); the caller closes them."""
        return self._prepared.pop(xid, None)
