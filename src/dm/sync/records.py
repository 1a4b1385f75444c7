"""What the binlog reader process sends the syncer: records, plain tuples that pickle fast.

The reader folds the events the syncer does not need one by one (BEGIN, TABLE_MAP,
GTID, ANNOTATE_ROWS, FORMAT_DESCRIPTION, ...) into the records that follow them, and
leaves out the rows of tables the syncer said it does not want. Every record starts with
its tag:

    (ROWS, start_pos, timestamp, schema, table, kind, rows, event_size, gtid)
    (XID, end_pos, timestamp, gtid)                      a transaction's group ends
    (QUERY, end_pos, start_pos, timestamp, gtid, schema, sql, sql_mode, ends, time_zone,
     server_charset)
    (ROTATE, next_file, pos)
    (HEARTBEAT, file, pos)                               the upstream is idle there
    (SCHEMA, schema, table)                              a question: see `TableAnswer`
    (ERROR, process_error)                               the reader failed; it stops
    (XA_PREPARED, end_pos, start_pos, timestamp, gtid, xid)  an XA transaction's group
                                                         (from start_pos) ends, its rows
                                                         held by the reader
    (XA_ENDED, end_pos, start_pos, timestamp, gtid, xid, committed, known)

`gtid` is the group's GTID as text (None without one), sent with the record that ends
the group and with its rows (their exactly-once marks name their transaction by it; an XA
transaction's rows go with its XA COMMIT's). A group ends at its XID, its COMMIT/ROLLBACK,
an XA PREPARE or XA COMMIT/ROLLBACK (all sent as XID records), or at a standalone
statement (`ends` True);
a statement inside a transaction (`ends` False) does not end it, and BEGIN, SAVEPOINT,
ROLLBACK TO and the like are not sent at all (dm.core.transactions). `rows` are decoded
rows as `RowsEvent.rows` gives them, `event_size` the rows event's bytes (what the
syncer's memory bounds count); `sql_mode` is the statement's, as the event's status
variable (an int of flags, None when absent); `time_zone` is the statement's session time
zone as logged (None when the event does not carry one: the upstream's global applies);
`server_charset` its character_set_server (the default of a CREATE DATABASE; None: not
logged).
A batch on the wire is `(events_read, [record, ...])`.

XA transactions: the rows of an XA transaction are logged at its XA PREPARE, and it may
be rolled back later. The reader holds them (dm.sync.xa) and sends them only at its XA
COMMIT, as ROWS records placed at the commit's query event (`start_pos`), followed by
XA_ENDED; at XA ROLLBACK only XA_ENDED goes. `xid` is the Xid's text; `known` is False
for an XA COMMIT/ROLLBACK whose XA PREPARE lies before where the reader started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from dm.binlog.location import AnyGTIDSet
from dm.binlog.rows.schema import TableSchema

ROWS: Final = 0
XID: Final = 1
QUERY: Final = 2
ROTATE: Final = 3
HEARTBEAT: Final = 4
SCHEMA: Final = 5
ERROR: Final = 6
XA_PREPARED: Final = 7
XA_ENDED: Final = 9

Record = tuple[Any, ...]
Batch = tuple[int, list[Record]]


@dataclass(frozen=True)
class TableAnswer:
    """The syncer's answer about one table, valid until the next QUERY record: how to
    decode its rows (None: no schema known, values stay raw), which row kinds
    ("insert", "update", "delete") it does not want at all, and before which binlog
    (file, pos) it wants none (its data is there already, under a later schema: the
    rows are not even decoded). Where that point has a GTID set (`until_gtids`), a
    transaction in it is before it, whatever server the positions are of."""

    schema: TableSchema | None
    skip: frozenset[str] = frozenset()
    until: tuple[str, int] | None = None
    until_gtids: AnyGTIDSet | None = None


SKIP_ALL: Final = frozenset({"insert", "update", "delete"})
