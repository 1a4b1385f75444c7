"""DM's self-contained SQL workloads (dm-test-scenarios.md §1.4.1) replicated in `all` mode
through real dm-master/dm-worker/dmctl processes, then compared row by row.

Per scenario: its prepare files run upstream, start-task, wait for the sync unit, its
increment files run in order while it replicates, then every table of its databases must
match the upstream's, and the task must be Running without error. MariaDB 10.11
adjustments (§1.4.2): `->` rewritten to JSON_VALUE, time-zone tables loaded on every
server, the global sql_mode (and time zone) each scenario's run.sh sets, sharding's
source 1 without NO_ZERO_DATE, DELIMITER handled as the mysql client does. `full_mode` and
`sql_mode` also run "live" (everything through the binlog, none through the dump).

Source 2's databases are routed to `<db>_s2`: DM's scenarios merge the two sources'
tables of the same name (shard merging), and a row-by-row comparison here needs one
downstream table per upstream table. The merges themselves (sequence_sharding and
sequence_sharding_optimistic with DM's task files) run in test_shard_merge.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pymysql.constants import CLIENT

from dm.sandbox import DMProcesses, MariaDB
from dm.schema.lexer import split_statements, tokenize
from tests.integration.conftest import source_yaml
from tests.shared import DM_TESTS

pytestmark = pytest.mark.integration

DM_SQL_MODE = ("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
               "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")
SQL_MODE_SRC1 = ("PIPES_AS_CONCAT,IGNORE_SPACE,ONLY_FULL_GROUP_BY,NO_UNSIGNED_SUBTRACTION,"
                 "NO_DIR_IN_CREATE,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,"
                 "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                 "ALLOW_INVALID_DATES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,"
                 "HIGH_NOT_PRECEDENCE,NO_ENGINE_SUBSTITUTION,REAL_AS_FLOAT")
SOURCES = ("wl-src1", "wl-src2")
RELAYED = "wl-src1"  # its tasks read its relay log (docs/relay.md); wl-src2's the upstream
SUFFIX = "_s2"  # source 2's databases downstream


@dataclass(frozen=True)
class Scenario:
    name: str
    dbs: tuple[str, ...]  # the databases its source-1 files touch
    dbs2: tuple[str, ...] = ()  # those of its source-2 files (none: one source)
    # the global sql_mode its run.sh gives each source, before the prepare files and
    # (when it changes it) before the increments
    sql_mode: tuple[str, str] = (DM_SQL_MODE, DM_SQL_MODE)
    increment_sql_mode: tuple[str, str] | None = None
    time_zone: tuple[str, str] | None = None  # global time_zone its run.sh sets
    skip: tuple[str, ...] = ()  # data files that are not part of the workload
    stages: tuple[str, ...] = ()  # only the files of these stages (default: all)
    dropped: tuple[tuple[int, str], ...] = ()  # (source, database) gone at the end
    variant: str = ""  # a second workload of the same scenario folder
    live: bool = False  # every file replayed while the task replicates (none dumped)

    @property
    def id(self) -> str:
        return f"{self.name}-{self.variant}" if self.variant else self.name

    @property
    def task(self) -> str:
        return "wl_" + self.id.replace("-", "_")


SCENARIOS = [
    Scenario("all_mode", ("all_mode", "ignore_db"), ("all_mode", "ignore_db"),
             sql_mode=("ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO",) * 2,
             time_zone=("+01:00", "+02:00"), stages=("prepare", "increment0", "increment")),
    # run.sh runs increment3 after a fresh prepare (it reuses ids that `increment` inserts)
    Scenario("all_mode", ("all_mode", "ignore_db"), ("all_mode", "ignore_db"),
             sql_mode=("ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO",) * 2,
             time_zone=("+01:00", "+02:00"), stages=("prepare", "increment3"),
             variant="increment3"),
    Scenario("full_mode", ("full_mode",), ("full_mode",), sql_mode=("NO_BACKSLASH_ESCAPES",) * 2),
    # the same escapes and generated JSON column through the binlog rather than the dump
    Scenario("full_mode", ("full_mode",), ("full_mode",), sql_mode=("NO_BACKSLASH_ESCAPES",) * 2,
             variant="live", live=True),
    Scenario("incremental_mode", ("incremental_mode",), ("incremental_mode",)),
    # run.sh: source 1 'NO_ZERO_IN_DATE,NO_ZERO_DATE', source 2 'ANSI_QUOTES' then ''. MariaDB
    # refuses `DEFAULT '0000-00-00 00:00:00'` under NO_ZERO_DATE (§1.4.2): source 1 runs
    # without it, as the spec says.
    Scenario("sharding", ("sharding1", "sharding2"), ("sharding1", "sharding2"),
             sql_mode=("NO_ZERO_IN_DATE", "ANSI_QUOTES"),
             increment_sql_mode=("NO_ZERO_IN_DATE", ""), dropped=((2, "sharding2"),)),
    Scenario("sql_mode", ("sql_mode",), ("sql_mode",), sql_mode=(SQL_MODE_SRC1, "")),
    # as its run.sh does: the task starts first, every statement reaches it by the binlog
    Scenario("sql_mode", ("sql_mode",), ("sql_mode",), sql_mode=(SQL_MODE_SRC1, ""),
             variant="live", live=True),
    # prepare2 drops and recreates the database mid-stream (run.sh runs the pairs in
    # two tasks; one task covers both here)
    Scenario("expression_filter", ("expr_filter",)),
    Scenario("safe_mode", ("safe_mode_test",), ("safe_mode_test",),
             sql_mode=(DM_SQL_MODE, "ANSI_QUOTES")),
    Scenario("sequence_safe_mode", ("sequence_safe_mode_test",), ("sequence_safe_mode_test",)),
    Scenario("sequence_sharding", ("sharding_seq",), ("sharding_seq",)),
    Scenario("sequence_sharding_removemeta", ("sharding_seq",), ("sharding_seq",)),
    Scenario("sequence_sharding_optimistic", ("sharding_seq_opt", "sharding_seq_tmp"),
             ("sharding_seq_opt",)),
    Scenario("online_ddl", ("online_ddl",), ("online_ddl",)),  # run plainly (no gh-ost/pt-osc)
    Scenario("case_sensitive", ("Upper_DB", "Upper_DB1", "Upper_Db_IGNORE"),
             ("lower_db", "lower_db_ignore"),
             sql_mode=("ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO",) * 2),
    Scenario("checkpoint_transaction", ("checkpoint_transaction",)),
    Scenario("duplicate_event", ("dup_event",)),  # run.sh replays it on a relay source too
    # increment2 (DROP COLUMN between DML) is commented out in run.sh; replayed here
    Scenario("dmctl_basic", ("dmctl",), ("dmctl",)),
    Scenario("print_status", ("print_status",)),
    Scenario("sharding2", ("sharding22",), ("sharding22",)),
    Scenario("new_relay", ("new_relay",)),
    Scenario("ha_cases", ("ha_test",), ("ha_test",)),
    Scenario("tracker_ignored_ddl", ("tracker_ignored_ddl",)),
    Scenario("drop_column_with_index", ("drop_column_with_index",)),
    # schema.sql and tidb.prepare.sql are operator/downstream inputs, not workloads (§1.4.1)
    Scenario("downstream_more_column", ("downstream_more_column1",),
             skip=("schema.sql", "tidb.prepare.sql")),
    Scenario("gtid", ("gtid",), ("gtid",)),  # its prepare files run RESET MASTER
    Scenario("only_dml", ("only_dml",), ("only_dml",)),
    Scenario("fake_rotate_event", ("fake_rotate_event",)),
    Scenario("load_task", ("load_task1", "load_task2", "load_task4"),
             ("load_task1", "load_task2", "load_task3")),
    Scenario("metrics", ("metrics",), ("metrics",)),
    Scenario("retry_cancel", ("retry_cancel",), ("retry_cancel",)),
]

# --- the workload files ------------------------------------------------------------------

_JSON_ARROW = re.compile(r"(\w+)\s*->\s*(['\"])(\$[^'\"]*)\2")
_DELIMITER = re.compile(r"^[ \t]*delimiter[ \t]+(\S+)[ \t]*$", re.I | re.M)
_STAGE = re.compile(r"(prepare|increment|dropdb)(\d*)")


def mariadb_spelling(sql: str) -> str:
    """MariaDB 10.11 has no `->` JSON operator (§1.4.2); `ha_cases` files carry a
    `database-placeholder` token that its lib script replaces with `ha_test`."""
    sql = _JSON_ARROW.sub(r"JSON_VALUE(\1, '\3')", sql)
    return sql.replace("database-placeholder", "ha_test")


def client_statements(script: str) -> list[str]:
    """What the mysql client sends for `script`: text between delimiters, where a
    `DELIMITER x` line changes the delimiter (so a chunk may hold several statements)."""
    out: list[str] = []
    delimiter, pos = ";", 0
    for m in _DELIMITER.finditer(script):
        out += _split(script[pos:m.start()], delimiter)
        delimiter, pos = m.group(1), m.end()
    return out + _split(script[pos:], delimiter)


def _split(text: str, delimiter: str) -> list[str]:
    if delimiter == ";":
        return split_statements(text)
    cuts = [t.start for t in tokenize(text) if text.startswith(delimiter, t.start)]
    bounds = zip([0] + [c + len(delimiter) for c in cuts], [*cuts, len(text)], strict=True)
    return [text[a:b].strip() for a, b in bounds if text[a:b].strip()]


def _order(path: Path) -> tuple[int, int, str]:
    """prepare → increment0 → increment(1) → increment2 …; a `prepareN` runs just before
    `incrementN`; files that are not stages (`timezone.*`) come last, by name."""
    prefix, stage = path.name.removesuffix(".sql").rsplit(".", 1)
    m = _STAGE.fullmatch(stage)
    if not m:
        return (99, 0, path.name)
    n = int(m.group(2) or 1)
    if m.group(1) != "increment":
        return (n, 0, prefix)
    return (1, 1, prefix) if n == 0 else (n, 2, prefix)


def workload(scenario: Scenario) -> tuple[list[Path], list[Path]]:
    """(files run before start-task, files run while it replicates), in order."""
    files = sorted((p for p in (DM_TESTS / scenario.name / "data").glob("*.sql")
                    if ".user." not in p.name and p.name not in scenario.skip
                    and (not scenario.stages or p.name.split(".")[-2] in scenario.stages)),
                   key=_order)
    assert files, scenario.name
    if scenario.live:
        return [], files
    return ([p for p in files if _order(p)[:2] == (1, 0)],
            [p for p in files if _order(p)[:2] != (1, 0)])


def source_of(path: Path) -> int:
    return 2 if path.name.split(".")[-3].endswith("db2") else 1


_CREATE_DB = re.compile(r"create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?`?(\w+)",
                        re.I)


def check_declared(scenario: Scenario, files: list[Path]) -> None:
    """Every database a source's files create is in the scenario's list for that source
    (else the task would filter it out and nothing would compare it)."""
    for path in files:
        dbs = scenario.dbs2 if source_of(path) == 2 else scenario.dbs
        created = set(_CREATE_DB.findall(mariadb_spelling(path.read_text(encoding="utf-8"))))
        assert created <= set(dbs), f"{path.name} creates {created - set(dbs)}, not listed"


def replay(server: MariaDB, path: Path) -> None:
    """Run one workload file in one session, as `mysql < file` does (stop at an error)."""
    conn = server.connect(client_flag=CLIENT.MULTI_STATEMENTS)
    try:
        with conn.cursor() as cur:
            for sql in client_statements(mariadb_spelling(path.read_text(encoding="utf-8"))):
                try:
                    cur.execute(sql)
                    while cur.nextset():
                        pass
                except pymysql.err.MySQLError as exc:
                    raise AssertionError(f"{path.parent.parent.name}/{path.name}: "
                                         f"{sql!r} failed upstream: {exc}") from exc
    finally:
        conn.close()


# --- comparison --------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    json: frozenset[str]  # MariaDB's JSON: LONGTEXT with CHECK (json_valid(col))

    def canonical(self, json_columns: frozenset[str]) -> tuple[tuple[str, ...], list[str]]:
        """Columns and rows, JSON by value, rows sorted in Python (no server collation)."""
        rows = [repr(tuple(_json_value(v) if n in json_columns else v
                           for n, v in zip(self.columns, row, strict=True)))
                for row in self.rows]
        return self.columns, sorted(rows)


_JSON_CHECK = re.compile(r"json_valid\([`\"](.+)[`\"]\)")


def _json_value(value: Any) -> Any:
    if not isinstance(value, str | bytes):
        return value
    try:
        return ("json", json.dumps(json.loads(value), sort_keys=True))
    except ValueError:
        return value


def database(conn: pymysql.Connection, schema: str) -> dict[str, Table] | None:
    """Every table of `schema` with all its rows (None: no such database)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                    (schema,))
        if cur.fetchone() is None:
            return None
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_TYPE = 'BASE TABLE'", (schema,))
        out: dict[str, Table] = {}
        for (table,) in cur.fetchall():
            cur.execute("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                        "WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s", (schema, table))
            json_columns = frozenset(m.group(1) for (clause,) in cur.fetchall()
                                     for m in [_JSON_CHECK.fullmatch(clause)] if m)
            cur.execute("SELECT * FROM `{}`.`{}`".format(schema.replace("`", "``"),
                                                         table.replace("`", "``")))
            out[table] = Table(tuple(d[0] for d in cur.description),
                               [tuple(r) for r in cur.fetchall()], json_columns)
    return out


def differences(up: list[pymysql.Connection], down: pymysql.Connection,
                scenario: Scenario) -> list[str]:
    """What differs between each upstream database and its downstream copy (empty: none)."""
    diffs: list[str] = []
    for i, dbs in enumerate((scenario.dbs, scenario.dbs2)):
        for db in dbs:
            target = db + SUFFIX if i else db
            theirs, ours = database(up[i], db), database(down, target)
            if theirs is None or ours is None:
                if (theirs is None) != (ours is None):
                    diffs.append(f"{db} -> {target}: upstream has it: {theirs is not None}, "
                                 f"downstream has it: {ours is not None}")
                continue
            if theirs.keys() != ours.keys():
                diffs.append(f"{db} -> {target}: tables {sorted(theirs)} != {sorted(ours)}")
            for table in sorted(theirs.keys() & ours.keys()):
                json_columns = theirs[table].json | ours[table].json
                a = theirs[table].canonical(json_columns)
                b = ours[table].canonical(json_columns)
                if a != b:
                    diffs.append(_table_diff(f"{db}.{table} -> {target}.{table}", a, b))
    return diffs


def _table_diff(name: str, up: tuple[tuple[str, ...], list[str]],
                down: tuple[tuple[str, ...], list[str]]) -> str:
    if up[0] != down[0]:
        return f"{name}: columns {up[0]} != {down[0]}"
    only_up = [r for r in up[1] if r not in down[1]]
    only_down = [r for r in down[1] if r not in up[1]]
    return f"{name}: upstream only {only_up[:5]}, downstream only {only_down[:5]}"


# --- the cluster ---------------------------------------------------------------------------


@dataclass
class Bench:
    dm: DMProcesses
    up: list[MariaDB]
    down: MariaDB
    saved: list[tuple[str, str]]  # each upstream's global sql_mode and time_zone

    def restore_globals(self) -> None:
        for server, (mode, tz) in zip(self.up, self.saved, strict=True):
            server.execute(f"SET GLOBAL sql_mode = '{mode}'", f"SET GLOBAL time_zone = '{tz}'")

    def connect(self, server: MariaDB) -> pymysql.Connection:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00', sql_mode = ''")
        return conn


def load_time_zones(server: MariaDB) -> None:
    """Named zones (`Asia/Shanghai`...) need the zone tables (§1.4.2), kept out of the binlog."""
    tz = subprocess.run(["mariadb-tzinfo-to-sql", "/usr/share/zoneinfo"], check=True,
                        capture_output=True, text=True).stdout
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(server.port), "-u", "root",
                    "mysql"], input="SET SESSION sql_log_bin = 0;\n" + tz, text=True,
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def bench(cluster: DMProcesses, upstream: MariaDB, upstream2: MariaDB, downstream: MariaDB,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    cluster.start_worker("worker2")
    ups = [upstream, upstream2]
    for server in (*ups, downstream):
        load_time_zones(server)
    conf = tmp_path_factory.mktemp("wl-sources")
    for sid, server in zip(SOURCES, ups, strict=True):  # source 1 through its relay log
        extra = {"enable-relay": "true"} if sid == RELAYED else {}
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(conf / f"{sid}.yaml", sid, server, **extra)))["result"]
    saved = []
    for server in ups:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.sql_mode, @@GLOBAL.time_zone")
            saved.append(cur.fetchone())
        conn.close()
    try:
        yield Bench(cluster, ups, downstream, saved)
    finally:
        for sid in SOURCES:
            cluster.dmctl("operate-source", "stop", sid, check=False)
        downstream.execute("DROP DATABASE IF EXISTS dm_meta")


def task_yaml(scenario: Scenario, down: MariaDB) -> str:
    lines = [f"name: {scenario.task}", "task-mode: all", "case-sensitive: true",
             f"target-database: {{host: 127.0.0.1, port: {down.port}, user: root, "
             'password: ""}', "mysql-instances:"]
    routes = []
    for i, dbs in enumerate((scenario.dbs, scenario.dbs2)):
        if not dbs:
            continue
        lines += [f"  - source-id: {SOURCES[i]}", f"    block-allow-list: ba{i + 1}",
                  "    mydumper: {threads: 2}", "    loader-thread: 2",
                  "    syncer: {worker-count: 4, batch: 100}"]
        if i:
            routes = [f"  s2_{n}: {{schema-pattern: {json.dumps(db)}, target-schema: "
                      f"{json.dumps(db + SUFFIX)}}}" for n, db in enumerate(dbs)]
            lines.append(f"    route-rules: [{', '.join(f's2_{n}' for n in range(len(dbs)))}]")
    lines.append("block-allow-list:")
    for i, dbs in enumerate((scenario.dbs, scenario.dbs2)):
        if dbs:
            lines.append(f"  ba{i + 1}: {{do-dbs: {json.dumps(list(dbs))}}}")
    if routes:
        lines += ["routes:", *routes]
    return "\n".join(lines) + "\n"


def _set_globals(bench: Bench, scenario: Scenario, modes: tuple[str, str]) -> None:
    for i, server in enumerate(bench.up):
        server.execute(f"SET GLOBAL sql_mode = '{modes[i]}'")
        if scenario.time_zone:
            server.execute(f"SET GLOBAL time_zone = '{scenario.time_zone[i]}'")


def _drop_all(bench: Bench, scenario: Scenario) -> None:
    for i, dbs in enumerate((scenario.dbs, scenario.dbs2)):
        for db in dbs:
            bench.up[i].execute(f"DROP DATABASE IF EXISTS `{db}`")
            bench.down.execute(f"DROP DATABASE IF EXISTS `{db + SUFFIX if i else db}`")


def _subtasks(bench: Bench, task: str) -> list[dict[str, Any]]:
    answer = bench.dm.api("query-status", {"task": task})
    return [st for s in answer.get("sources", []) for st in s.get("subTaskStatus", [])]


def _errors(subs: list[dict[str, Any]]) -> list[str]:
    return [f"{st.get('unit')}: {e.get('Message')}: {e.get('RawCause')}"
            for st in subs if st.get("result") for e in st["result"].get("errors", [])]


def wait_sync_unit(bench: Bench, scenario: Scenario, timeout: float = 60) -> None:
    count = 2 if scenario.dbs2 else 1
    deadline = time.monotonic() + timeout
    subs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        subs = _subtasks(bench, scenario.task)
        errors = _errors(subs)
        if errors:
            raise AssertionError(f"{scenario.task} failed before the sync unit: {errors}")
        if len(subs) == count and all(st.get("unit") == "Sync" and st["stage"] == "Running"
                                      for st in subs):
            return
        time.sleep(0.1)
    raise AssertionError(f"{scenario.task} not in the sync unit after {timeout}s: {subs}")


def compare(bench: Bench, scenario: Scenario) -> list[str]:
    up = [bench.connect(s) for s in bench.up]
    down = bench.connect(bench.down)
    try:
        return differences(up, down, scenario)
    finally:
        for conn in (*up, down):
            conn.close()


def check_present(bench: Bench, scenario: Scenario) -> None:
    """Every listed database is there upstream (unless the workload drops it): nothing is
    compared in vain."""
    for i, dbs in enumerate((scenario.dbs, scenario.dbs2)):
        conn = bench.connect(bench.up[i])
        present = {db for db in dbs if database(conn, db) is not None}
        conn.close()
        gone = {db for n, db in scenario.dropped if n == i + 1}
        assert present == set(dbs) - gone, f"source {i + 1} has {sorted(present)} of {dbs}"


def wait_caught_up(bench: Bench, scenario: Scenario, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while diffs := compare(bench, scenario):
        errors = _errors(_subtasks(bench, scenario.task))
        if errors or time.monotonic() > deadline:
            raise AssertionError("downstream differs:\n" + "\n".join(diffs)
                                 + f"\ntask errors: {errors}")
        time.sleep(0.2)


def relay_afresh(bench: Bench) -> None:
    """After RESET MASTER upstream the relay's files are not the upstream's any more:
    the relay is stopped, its directory deleted, and started again."""
    assert bench.dm.dmctl("stop-relay", "-s", RELAYED)["result"]
    worker = bench.dm.bound()[RELAYED]
    url = f"http://127.0.0.1:{bench.dm.worker_ports[worker]}/api/v1/subtasks"
    deadline = time.monotonic() + 30
    while json.loads(urllib.request.urlopen(url, timeout=10).read())["relayStatus"]:
        assert time.monotonic() < deadline, "the relay did not stop"
        time.sleep(0.2)
    shutil.rmtree(bench.dm.base / worker / "relay-dir" / RELAYED, ignore_errors=True)
    assert bench.dm.dmctl("start-relay", "-s", RELAYED)["result"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_workload_replicates(bench: Bench, scenario: Scenario, tmp_path: Path) -> None:
    before, during = workload(scenario)
    check_declared(scenario, before + during)
    _drop_all(bench, scenario)
    _set_globals(bench, scenario, scenario.sql_mode)
    try:
        for path in before:
            replay(bench.up[source_of(path) - 1], path)
        if any("reset master" in p.read_text().lower() for p in before):
            relay_afresh(bench)  # as DM's gtid scenario deletes its relay directories
        task = tmp_path / "task.yaml"
        task.write_text(task_yaml(scenario, bench.down))
        assert bench.dm.dmctl("start-task", str(task))["result"]
        try:
            wait_sync_unit(bench, scenario)
            _set_globals(bench, scenario, scenario.increment_sql_mode or scenario.sql_mode)
            for path in during:
                replay(bench.up[source_of(path) - 1], path)
            check_present(bench, scenario)
            wait_caught_up(bench, scenario)
            status = bench.dm.dmctl("query-status", scenario.task)
            subs = [st for s in status["sources"] for st in s["subTaskStatus"]]
            assert len(subs) == (2 if scenario.dbs2 else 1), status
            for st in subs:
                assert (st["stage"], st["unit"], st.get("result")) == ("Running", "Sync", None), st
            relayed = [st["sync"]["binlogType"] for s in status["sources"]
                       if s["sourceStatus"]["source"] == RELAYED for st in s["subTaskStatus"]]
            assert relayed == ["local"], status
            assert compare(bench, scenario) == []  # and it stays equal
        finally:
            bench.dm.dmctl("stop-task", scenario.task, check=False)
    finally:
        bench.restore_globals()
        _drop_all(bench, scenario)
