"""`<meta-schema>.<task>_syncer_checkpoint`: where sync resumes, with DM's columns.

One global row (empty schema/table) and one row per replicated table, holding its
tracked schema (`table_info`). They are only written together, in one transaction,
after every DML before the location has been applied, so the stored point is never
ahead of the data. The exit-safe location says how far a restart must stay in safe
mode. A table's row holds a location ahead of the global one, as DM's table checkpoints
do, when its data is already there (a table a resumed dump copied under a later
snapshot): its row events before that location are not applied again. The global
row's `table_info` lists the XA transactions prepared before its location and not yet
ended, with where each one's events start (and, at a held shard's frozen location,
those that ended past it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dm.binlog.location import Flavor, Location, gtid_text, parse_gtid_set
from dm.db import Connection, create_meta_table, qualified, query_all
from dm.schema.table import TableInfo


@dataclass
class SyncPoint:
    """What a checkpoint holds: the global location, exit-safe location and table schemas."""

    location: Location
    exit_safe: Location | None = None
    tables: dict[tuple[str, str], TableInfo] = field(default_factory=dict)
    table_starts: dict[tuple[str, str], Location] = field(default_factory=dict)
    # tables dropped past the global location: a row without a schema, so that their
    # events before the drop are not read again (pessimistic shard mode)
    gone: dict[tuple[str, str], Location] = field(default_factory=dict)
    # XA transactions prepared before the location and not ended: where each one's event
    # group starts (a restart reads those groups again first: dm.sync.xa)
    xa_prepared: dict[str, Location] = field(default_factory=dict)
    # XA transactions prepared before the location and ended past it (a held shard's
    # frozen location): a restart meets their ends without their rows, rightly
    xa_ended: frozenset[str] = frozenset()


class SyncerCheckpoint:
    def __init__(self, meta_schema: str, task: str, source_id: str, flavor: Flavor) -> None:
        self.meta_schema = meta_schema
        self.name = f"{task}_syncer_checkpoint"
        self.table = qualified(meta_schema, self.name)
        self.source_id = source_id
        self.flavor = flavor

    def create(self, conn: Connection) -> None:
        create_meta_table(conn, self.meta_schema, self.table, """
                `id` VARCHAR(32) NOT NULL,
                `cp_schema` VARCHAR(128) NOT NULL,
                `cp_table` VARCHAR(128) NOT NULL,
                `binlog_name` VARCHAR(128),
                `binlog_pos` INT UNSIGNED,
                `binlog_gtid` TEXT,
                `exit_safe_binlog_name` VARCHAR(128) DEFAULT '',
                `exit_safe_binlog_pos` INT UNSIGNED DEFAULT 0,
                `exit_safe_binlog_gtid` TEXT,
                `table_info` JSON NOT NULL,
                `is_global` BOOLEAN,
                `create_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                `update_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                UNIQUE KEY `uk_id_schema_table` (`id`, `cp_schema`, `cp_table`)""")

    def _location(self, name: str, pos: int, gtid: str | None = None) -> Location:
        gset = parse_gtid_set(gtid, self.flavor) if gtid else None
        return Location(name, int(pos), gset)

    def load(self, conn: Connection) -> SyncPoint | None:
        rows = query_all(conn, "SELECT `cp_schema`, `cp_table`, `binlog_name`, `binlog_pos`, "
                               "`binlog_gtid`, `exit_safe_binlog_name`, `exit_safe_binlog_pos`, "
                               "`exit_safe_binlog_gtid`, `table_info`, `is_global` "
                               f"FROM {self.table} WHERE `id` = %s", (self.source_id,))
        point: SyncPoint | None = None
        tables: dict[tuple[str, str], TableInfo] = {}
        starts: dict[tuple[str, str], Location] = {}
        gone: dict[tuple[str, str], Location] = {}
        for schema, table, name, pos, gtid, xname, xpos, xgtid, info, is_global in rows:
            if is_global:
                exit_safe = self._location(xname, xpos, xgtid) if xname else None
                doc = json.loads(str(info)) if info else None
                doc = doc if isinstance(doc, dict) else {}
                point = SyncPoint(self._location(name, pos, gtid), exit_safe,
                                  xa_prepared={str(xid): self._location(*at[:3])
                                               for xid, at in doc.get("xa_prepared", {}).items()},
                                  xa_ended=frozenset(map(str, doc.get("xa_ended", []))))
            else:
                starts[(schema, table)] = self._location(name, pos, gtid)
                if info and info != "null":
                    tables[(schema, table)] = TableInfo.from_json(info)
                else:
                    gone[(schema, table)] = starts[(schema, table)]
        if point is not None:
            point.tables = tables
            point.table_starts = {k: at for k, at in starts.items() if point.location < at}
            point.gone = {k: at for k, at in gone.items() if point.location < at}
        return point

    def save(self, conn: Connection, point: SyncPoint) -> None:
        """Global and per-table rows in one transaction."""
        loc, exit_safe = point.location, point.exit_safe
        gtid = gtid_text(loc)
        xname, xpos, xgtid = ("", 0, "") if exit_safe is None else (
            exit_safe.file, exit_safe.pos, gtid_text(exit_safe))
        extra = json.dumps({"xa_prepared": {xid: [at.file, at.pos, gtid_text(at)] for xid, at
                                            in point.xa_prepared.items()},
                            "xa_ended": sorted(point.xa_ended)}) \
            if point.xa_prepared or point.xa_ended else "null"
        rows = [(self.source_id, "", "", loc.file, loc.pos, gtid, xname, xpos, xgtid, extra, 1)]
        for (s, t), info in point.tables.items():
            at = point.table_starts.get((s, t), loc)
            rows.append((self.source_id, s, t, at.file, at.pos,
                         gtid_text(at), "", 0, "",
                         info.to_json(), 0))
        for (s, t), at in point.gone.items():
            rows.append((self.source_id, s, t, at.file, at.pos,
                         gtid_text(at), "", 0, "",
                         "null", 0))
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO {self.table} (`id`, `cp_schema`, `cp_table`, `binlog_name`, "
                "`binlog_pos`, `binlog_gtid`, `exit_safe_binlog_name`, `exit_safe_binlog_pos`, "
                "`exit_safe_binlog_gtid`, `table_info`, `is_global`) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                "`binlog_name` = VALUES(`binlog_name`), `binlog_pos` = VALUES(`binlog_pos`), "
                "`binlog_gtid` = VALUES(`binlog_gtid`), "
                "`exit_safe_binlog_name` = VALUES(`exit_safe_binlog_name`), "
                "`exit_safe_binlog_pos` = VALUES(`exit_safe_binlog_pos`), "
                "`exit_safe_binlog_gtid` = VALUES(`exit_safe_binlog_gtid`), "
                "`table_info` = VALUES(`table_info`)", rows)
            live = {*point.tables, *point.gone}
            stale = [(s, t) for s, t in self._table_keys(conn) if (s, t) not in live]
            for s, t in stale:  # dropped or renamed tables
                cur.execute(f"DELETE FROM {self.table} WHERE `id` = %s AND `cp_schema` = %s "
                            "AND `cp_table` = %s", (self.source_id, s, t))
            cur.execute("COMMIT")

    def _table_keys(self, conn: Connection) -> list[tuple[str, str]]:
        rows = query_all(conn, f"SELECT `cp_schema`, `cp_table` FROM {self.table} "
                               "WHERE `id` = %s AND NOT `is_global`", (self.source_id,))
        return [(str(s), str(t)) for s, t in rows]

    def drop(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
