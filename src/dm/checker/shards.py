"""The shard prechecks of a task in a shard mode (DM's `schema_of_shard_tables` and
`auto_increment_ID`): the shards of one target, over every source, have the same columns
(name, type, primary or unique key) as its first shard; no two targets differ only in
letter case; and an auto-increment column in a shard is a warning (its ids may collide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dm.checker.items import FAIL, WARN, CheckResult
from dm.db import Connection, qualified, query_all
from dm.schema import catalog

Table = tuple[str, str]
Column = tuple[str, str, str]  # name, type, PRI/UNI/""


@dataclass
class ShardTables:
    """What the shard checks need, gathered one source at a time."""

    columns: dict[Table, dict[tuple[str, Table], list[Column]]] = field(default_factory=dict)
    auto_increment: list[tuple[str, Table]] = field(default_factory=list)

    def gather(self, conn: Connection, source: str, allows: Callable[[str, str], bool],
               route: Callable[[str, str], Table]) -> None:
        tables = {(s, t) for s, t, _ in catalog.list_tables(conn, allows)}
        databases = sorted({s for s, _ in tables})
        if not databases:
            return
        rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, "
                               "COLUMN_KEY, EXTRA FROM information_schema.COLUMNS WHERE "
                               f"TABLE_SCHEMA IN ({','.join(['%s'] * len(databases))}) "
                               "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
                               tuple(databases))
        for schema, table, name, kind, key, extra in rows:
            shard = (str(schema), str(table))
            if shard not in tables:
                continue
            target = route(*shard)
            key_kind = str(key) if key in ("PRI", "UNI") else ""
            self.columns.setdefault(target, {}).setdefault((source, shard), []).append(
                (str(name).lower(), str(kind).lower(), key_kind))
            if "auto_increment" in str(extra).lower():
                self.auto_increment.append((source, shard))

    def merged(self) -> dict[Table, dict[tuple[str, Table], list[Column]]]:
        return {t: shards for t, shards in self.columns.items() if len(shards) > 1}


def schema_of_shard_tables(found: ShardTables, rid: int) -> CheckResult:
    r = CheckResult(rid, "schema_of_shard_tables", "check consistency of sharding table "
                                                   "structures")
    by_folded: dict[str, str] = {}
    for target in sorted(found.columns):
        name = qualified(*target)
        seen = by_folded.setdefault(name.lower(), name)
        if seen != name:
            r.problem(FAIL, f"same target table {seen} vs {name}",
                      "Route the shards to one target name, spelled the same.")
    for target, shards in sorted(found.merged().items()):
        (first_source, first), *others = sorted(shards)
        want = shards[(first_source, first)]
        for source, shard in others:
            got = shards[(source, shard)]
            if got != want:
                r.problem(FAIL, f"sharding {qualified(*target)}: source {source} table "
                                f"{qualified(*shard)} has columns {_brief(got)}, but source "
                                f"{first_source} table {qualified(*first)} has "
                                f"{_brief(want)}",
                          "please set same table structure for sharding tables")
    return r


def auto_increment_id(found: ShardTables, rid: int) -> CheckResult:
    r = CheckResult(rid, "auto_increment_ID", "check auto-increment keys of sharding tables")
    merged = found.merged()
    for source, shard in found.auto_increment:
        target = next((t for t, shards in merged.items() if (source, shard) in shards), None)
        if target is not None:
            r.problem(WARN, f"sourceID {source} table {qualified(*shard)} of sharding "
                            f"{qualified(*target)} have auto-increment key, please make sure "
                            "them don't conflict in target table!",
                      "If happen conflict, please handle it by yourself (disjoint id ranges, "
                      "or extract-table/-schema/-source columns in the merged table's key).")
    return r


def _brief(columns: list[Column]) -> str:
    return ", ".join(" ".join(p for p in c if p) for c in columns)
