"""Online schema changes upstream (gh-ost, pt-online-schema-change) under `online-ddl:
true`, as DM handles them.

The tools copy a table into a ghost table of the new schema, keep it current, and swap
it in with one RENAME. Downstream none of that happens as such: the ghost and trash
tables' rows are skipped (the syncer's block-allow list leaves them out, so the reader
never decodes them); the ghost table's ALTERs are recorded in
`<meta-schema>.<task>_onlineddl` (DM's table and JSON, one row per ghost table); and the
cut-over RENAME (real → trash, ghost → real) becomes those ALTERs on the real table, which
then go the way of any DDL (event filter, routes, shard locks, the schema tracker). Trash
tables' DDLs are ignored. A record is forgotten once a saved checkpoint is past its
cut-over: a crash before that reads the RENAME again and runs the ALTERs again (a
repeated ADD or DROP is tolerated downstream, as for any replayed DDL).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from dm import errors
from dm.binlog.location import Location, parse_location
from dm.db import Connection, create_meta_table, qualified, query_all
from dm.rules.onlineddl import ShadowTables, TableKind
from dm.schema import ddl
from dm.schema.createtable import CreateTable
from dm.schema.ddl import TableName

log = logging.getLogger(__name__)

Key = tuple[str, str]
# a ghost table's statements worth replaying on its real table; anything else a tool runs
# on its ghost (TRUNCATE, a second CREATE) is not the schema change
_RECORDED = (ddl.AlterTable, ddl.CreateIndexStmt, ddl.DropIndexStmt)


@dataclass
class GhostRecord:
    """What a ghost table stands for, and its DDLs as the upstream ran them (names
    qualified); DM's JSON `{"schema", "table", "ddls"}`, with `at`, where the last one
    was read (DM ignores it): a statement read again after a restart is not recorded
    twice."""

    real: TableName
    ddls: list[str] = field(default_factory=list)
    at: Location | None = None

    def to_json(self) -> str:
        doc: dict[str, object] = {"schema": self.real.schema, "table": self.real.table,
                                  "ddls": self.ddls}
        if self.at is not None:
            doc["at"] = self.at.short()
        return json.dumps(doc)

    def holds(self, sqls: list[str], at: Location) -> bool:
        """Whether the statement read at `at` (its pieces `sqls`) is recorded already:
        read at or before the last one (a record of DM's, without `at`: the last ones)."""
        if self.at is not None:
            return not self.at < at
        return bool(self.ddls) and self.ddls[-len(sqls):] == sqls


class OnlineDDLRecords:
    """`<meta-schema>.<task>_onlineddl`, DM's columns; rows of this source only."""

    def __init__(self, meta_schema: str, task: str, source_id: str) -> None:
        self.meta_schema = meta_schema
        self.table = qualified(meta_schema, f"{task}_onlineddl")
        self.source_id = source_id

    def create(self, conn: Connection) -> None:
        create_meta_table(conn, self.meta_schema, self.table, """
                `id` VARCHAR(32) NOT NULL,
                `ghost_schema` VARCHAR(128) NOT NULL,
                `ghost_table` VARCHAR(128) NOT NULL,
                `ddls` TEXT,
                `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE
                    CURRENT_TIMESTAMP,
                UNIQUE KEY `uk_id_schema_table` (`id`, `ghost_schema`, `ghost_table`)""")

    def load(self, conn: Connection) -> dict[TableName, GhostRecord]:
        rows = query_all(conn, f"SELECT `ghost_schema`, `ghost_table`, `ddls` FROM {self.table} "
                               "WHERE `id` = %s", (self.source_id,))
        records = {}
        for schema, table, text in rows:
            ghost = TableName(str(schema), str(table))
            try:
                doc = json.loads(text)
                records[ghost] = GhostRecord(
                    TableName(str(doc["schema"]), str(doc["table"])),
                    [str(d) for d in doc.get("ddls") or () if d],
                    parse_location(doc["at"]) if doc.get("at") else None)
            except (ValueError, TypeError, KeyError, errors.DMError) as exc:
                raise errors.SYNC_ONLINE_DDL_META(table=ghost.quoted(), meta=self.table,
                                                  detail=str(exc)) from None
        return records

    def save(self, conn: Connection, ghost: TableName, record: GhostRecord) -> None:
        with conn.cursor() as cur:
            cur.execute(f"REPLACE INTO {self.table} (`id`, `ghost_schema`, `ghost_table`, "
                        "`ddls`) VALUES (%s, %s, %s, %s)",
                        (self.source_id, ghost.schema, ghost.table, record.to_json()))

    def delete(self, conn: Connection, ghost: TableName) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {self.table} WHERE `id` = %s AND `ghost_schema` = %s "
                        "AND `ghost_table` = %s", (self.source_id, ghost.schema, ghost.table))

    def drop(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")


class OnlineDDL:
    """The syncer's view of the tools' tables: `rewrite` turns a statement's pieces into
    what runs downstream instead."""

    def __init__(self, tables: ShadowTables, records: OnlineDDLRecords,
                 allows: Callable[[str, str], bool], case_sensitive: bool) -> None:
        self.tables = tables
        self.records = records
        self._allows = tables.by_real_name(allows)
        self._case_sensitive = case_sensitive
        self._ghosts: dict[Key, tuple[TableName, GhostRecord]] = {}
        self._finished: dict[Key, Location] = {}  # cut over at: forgotten once passed

    def _key(self, name: TableName) -> Key:
        if self._case_sensitive:
            return name.schema, name.table
        return name.schema.lower(), name.table.lower()

    def start(self, conn: Connection) -> None:
        """Every run: the table, and the records as the last run left them."""
        self.records.create(conn)
        self._ghosts = {self._key(g): (g, r) for g, r in self.records.load(conn).items()}
        self._finished = {}

    def rewrite(self, statement: ddl.DDL, pieces: list[ddl.DDL], conn: Connection,
                at: Location, held: Callable[[str, str], bool],
                applied: Callable[[str, str], bool]) -> tuple[list[ddl.DDL], bool]:
        """The pieces to run for a statement's `pieces` (one table each, from ddl.split):
        a real table's as they are, a ghost table's recorded (none), a cut-over's the
        recorded DDLs on the real table, a trash table's none; and whether it cut over
        (then a checkpoint past it is due before another change of that table begins).

        A tool's statement for a real table `held(schema, table)` (a pessimistic shard
        holding a DDL) is left for the shard's reading again after its lock: its record
        must stay as it was for the held cut-over. A cut-over of a real table already
        `applied(schema, table)` past `at` (its checkpoint row, DM's table checkpoint, is
        ahead: a dump under a later snapshot) runs nothing."""
        self._check_cut_over(statement, at)
        cut_over = False
        out: list[ddl.DDL] = []
        recorded: dict[TableName, list[str]] = {}  # a ghost's pieces of this statement
        for one in pieces:
            main = one.tables[0] if one.tables else None
            if main is None or not main.table:
                out.append(one)  # database-level
                continue
            kind = self.tables.kind(main.table)
            rename_to = self.tables.kind(one.tables[1].table) if isinstance(
                one.statement, ddl.RenameTables) else None
            if kind is TableKind.REAL:
                if rename_to is TableKind.GHOST:
                    raise errors.SYNC_GHOST_RENAME_TO_GHOST(sql=one.sql, where=at.short())
                if rename_to is not TableKind.TRASH:  # the real table leaving: skipped
                    out.append(one)
            elif not self._allows(main.schema, main.table) or held(
                    main.schema, self.tables.real_name(main.table)):
                continue  # a tool's table of a table the task does not take, or held
            elif kind is TableKind.TRASH:
                if rename_to is TableKind.GHOST:
                    raise errors.SYNC_GHOST_RENAME_TO_OTHER(sql=one.sql, where=at.short())
            elif isinstance(one.statement, _RECORDED) and rename_to is None:
                recorded.setdefault(main, []).append(ddl.route(one))
            else:
                cut_over = cut_over or rename_to is TableKind.REAL
                out += self._ghost_piece(one, main, rename_to, conn, at, applied)
        for ghost, sqls in recorded.items():
            self._record(conn, ghost, sqls, at)
        return out, cut_over

    def _ghost_piece(self, one: ddl.DDL, ghost: TableName, rename_to: TableKind | None,
                     conn: Connection, at: Location, applied: Callable[[str, str], bool]
                     ) -> list[ddl.DDL]:
        if rename_to is TableKind.REAL:
            real = one.tables[1]
            if not applied(real.schema, real.table):
                return self._cut_over(ghost, real, at)
            if self._key(ghost) in self._ghosts:  # forgotten once the checkpoint passes
                self._finished[self._key(ghost)] = at
            return []
        if rename_to is TableKind.GHOST:
            raise errors.SYNC_GHOST_RENAME_TO_OTHER(sql=one.sql, where=at.short())
        if isinstance(one.statement, CreateTable):  # a new change begins: nothing yet
            self._save(conn, ghost, GhostRecord(TableName(
                ghost.schema, self.tables.real_name(ghost.table)), [], at))
        elif isinstance(one.statement, ddl.DropTables) or rename_to is TableKind.TRASH:
            self._forget(conn, self._key(ghost))
        return []

    def _record(self, conn: Connection, ghost: TableName, sqls: list[str], at: Location
                ) -> None:
        """A ghost table's statement (its pieces) read at `at`, unless it is recorded
        already (read again after a restart)."""
        known = self._ghosts.get(self._key(ghost))
        record = known[1] if known is not None else GhostRecord(
            TableName(ghost.schema, self.tables.real_name(ghost.table)))
        if record.holds(sqls, at):
            return
        self._save(conn, ghost, GhostRecord(record.real, [*record.ddls, *sqls], at))
        log.info("online DDL on %s recorded for %s: %s", ghost.quoted(), record.real.quoted(),
                 sqls)

    def _save(self, conn: Connection, ghost: TableName, record: GhostRecord) -> None:
        self.records.save(conn, ghost, record)
        self._ghosts[self._key(ghost)] = (ghost, record)
        self._finished.pop(self._key(ghost), None)

    def _forget(self, conn: Connection, key: Key) -> None:
        known = self._ghosts.get(key)
        if known is not None:
            self.records.delete(conn, known[0])  # first: a failed DELETE is tried again
            del self._ghosts[key]
        self._finished.pop(key, None)

    def _cut_over(self, ghost: TableName, real: TableName, at: Location) -> list[ddl.DDL]:
        known = self._ghosts.get(self._key(ghost))
        if known is None:
            raise errors.SYNC_GHOST_NOT_RECORDED(table=ghost.quoted(), where=at.short())
        self._finished[self._key(ghost)] = at
        ghost_key = self._key(ghost)

        def onto_real(schema: str, table: str) -> tuple[str, str]:
            if self._key(TableName(schema, table)) == ghost_key:
                return real.schema, real.table
            return schema, table

        out: list[ddl.DDL] = []
        for sql in known[1].ddls:
            text = ddl.route(ddl.parse(sql, ghost.schema), onto_real)
            out += ddl.split(ddl.parse(text, real.schema))
        log.info("online DDL cut-over of %s at %s: %s run on %s", ghost.quoted(), at.short(),
                 len(out), real.quoted())
        return out

    def _check_cut_over(self, statement: ddl.DDL, at: Location) -> None:
        """DM's CheckRegex: a two-pair RENAME of a taken table where only one pair is a
        cut-over's (real → trash, then ghost → real) means a rule misses a tool's name."""
        if not isinstance(statement.statement, ddl.RenameTables) or len(statement.refs) != 4:
            return
        old1, new1, old2, new2 = (ref.name for ref in statement.refs)
        if not self._allows(old1.schema, old1.table):
            return
        kind = self.tables.kind
        trash = kind(old1.table) is TableKind.REAL and kind(new1.table) is TableKind.TRASH
        shadow = kind(old2.table) is TableKind.GHOST and kind(new2.table) is TableKind.REAL
        if trash != shadow:
            table, rules = (old2, "shadow-table-rules") if trash else (new1, "trash-table-rules")
            raise errors.CONFIG_ONLINE_DDL_MISTAKE_REGEX(sql=statement.sql, table=table.quoted(),
                                                         rules=rules, where=at.short())

    def forget_passed(self, conn: Connection, saved: Location) -> None:
        """Records of ghost tables whose cut-over the checkpoint just saved is past."""
        for key, at in list(self._finished.items()):
            if at < saved:
                self._forget(conn, key)
