"""What the binlog reader process sends the syncer: records, plain tuples that pickle fast.

The reader folds the events the syncer does not need one by one (BEGIN, TABLE_MAP,
GTID, ANNOTATE_ROWS, FORMAT_DESCRIPTION, ...) into the records that follow them, and
leaves out the rows of tables the syncer said it does not want. Every record starts with
its tag:

    (ROWS, start_pos, timestamp, schema, table, kind, rows)
    (XID, end_pos, timestamp, gtid)                      a transaction commits
    (QUERY, end_pos, start_pos, timestamp, gtid, schema, sql, sql_mode)
    (ROTATE, next_file, pos)
    (HEARTBEAT, file, pos)                               the upstream is idle there
    (SCHEMA, schema, table)                              a question: see `TableAnswer`
    (ERROR, process_error)                               the reader failed; it stops

`gtid` is the transaction's GTID as text (None without one); `rows` are decoded rows as
`RowsEvent.rows` gives them; `sql_mode` is the statement's, as the event's status
variable (an int of flags, None when absent). A batch on the wire is `(events_read, [record, ...])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from dm.binlog.rows.schema import TableSchema

ROWS: Final = 0
XID: Final = 1
QUERY: Final = 2
ROTATE: Final = 3
HEARTBEAT: Final = 4
SCHEMA: Final = 5
ERROR: Final = 6

Record = tuple[Any, ...]
Batch = tuple[int, list[Record]]


@dataclass(frozen=True)
class TableAnswer:
    """The syncer's answer about one table, valid until the next QUERY record: how to
    decode its rows (None: no schema known, values stay raw) and which row kinds
    ("insert", "update", "delete") it does not want at all."""

    schema: TableSchema | None
    skip: frozenset[str] = frozenset()


SKIP_ALL: Final = frozenset({"insert", "update", "delete"})
