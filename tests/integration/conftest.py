"""Real servers for the integration tests: throwaway mariadbd upstreams and downstream,
and a real dm-master + dm-worker pair, all on free ports in temp dirs, stopped by PID."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pymysql.cursors import Cursor

from dm.sandbox import DMProcesses, MariaDB, table_rows

BIN_DIR = Path(sys.executable).parent
# the long forms of the fault tests and replays (README): PYDM_LONG=1 runs them
LONG_FORM = pytest.mark.skipif(not os.environ.get("PYDM_LONG"),
                               reason="a long form: PYDM_LONG=1 runs it")


@pytest.fixture(scope="session")
def server_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where MariaDB.start keeps the initialised datadir every server copies."""
    return tmp_path_factory.getbasetemp() / "cache"


def own_server(tmp: pytest.TempPathFactory, name: str, server_id: int, *,
               log_bin: bool = True, extra_args: tuple[str, ...] = ()) -> Iterator[MariaDB]:
    """A mariadbd of a fixture's own (stopped afterwards), for a test that changes its
    server beyond what others can live with (purges, resets, replication)."""
    server = MariaDB(tmp.mktemp(name), server_id=server_id, log_bin=log_bin,
                     extra_args=list(extra_args))
    server.start(tmp.getbasetemp() / "cache")
    try:
        yield server
    finally:
        server.stop()


def refused(dm: DMProcesses, code: str, *args: str) -> dict[str, Any]:
    """dmctl `args` refused as DM refuses: result false, exit 1, the error's code (in
    `msg`, or in a source's `msg` for a command the workers answer)."""
    answer = dm.dmctl(*args, check=False)
    msgs = [answer["msg"], *(s.get("msg", "") for s in answer.get("sources", []))]
    assert answer["_exit"] == 1 and answer["result"] is False and \
        any(f"code={code}" in m for m in msgs), (args, answer)
    return answer


def rows_of(server: MariaDB, db: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, canonically ordered, on a connection of its own."""
    conn = server.connect()
    try:
        return table_rows(conn, db, table)
    finally:
        conn.close()


def fetch(server: MariaDB, sql: str) -> list[tuple[Any, ...]]:
    """The rows a query answers, on a connection of its own."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


@contextmanager
def sources_on_two_workers(cluster: DMProcesses, servers: list[MariaDB],
                           source_ids: tuple[str, ...], conf: Path) -> Iterator[list[MariaDB]]:
    """A source for each server (ids in order), with a second worker to bind them all;
    the sources go on the way out."""
    if "worker2" not in cluster.workers:
        cluster.start_worker("worker2")
    for sid, server in zip(source_ids, servers, strict=True):
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(conf / f"{sid}.yaml", sid, server)))["result"]
    try:
        yield servers
    finally:
        for sid in source_ids:
            cluster.dmctl("operate-source", "stop", sid, check=False)


def wait_until(what: str, check: Callable[[], object], timeout: float = 60,
               shown: Callable[[], object] = lambda: None) -> None:
    """Poll `check` every 0.3 s (each poll may be a dmctl call); fail with `what` and
    what `shown` gives when it never holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, (what, shown())
        time.sleep(0.3)


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "upstream", 1)


@pytest.fixture(scope="session")
def upstream2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "upstream2", 3)


@pytest.fixture(scope="session")
def downstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "downstream", 2, log_bin=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DMProcesses]:
    dm = DMProcesses(tmp_path_factory.mktemp("dm"), BIN_DIR)
    try:
        dm.start_master()
        dm.start_worker("worker1")
        yield dm
    finally:
        dm.stop()


def source_yaml(path: Path, source_id: str, server: MariaDB, **extra: str) -> Path:
    lines = [f"source-id: {source_id}", "from:", "  host: 127.0.0.1",
             f"  port: {server.port}", "  user: root", '  password: ""']
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_stage(dm: DMProcesses, task: str, stage: str, timeout: float = 300,
               unit: str | None = None) -> dict[str, Any]:
    """Poll query-status until every source runs its subtask and every subtask reaches
    `stage` (in `unit`, if given); fail fast on a paused error."""
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = dm.dmctl("query-status", task, check=False)
        subs = [st for s in answer.get("sources", []) for st in s.get("subTaskStatus", [])]
        errors = [st["result"] for st in subs if st.get("result")]
        if errors and stage != "Paused":
            raise AssertionError(f"task {task} paused with errors: {errors}")
        every_source = all(s.get("subTaskStatus") for s in answer.get("sources", []))
        if subs and every_source and all(st["stage"] == stage and unit in (None, st["unit"])
                                         for st in subs):
            return answer
        time.sleep(0.3)
    raise AssertionError(f"task {task} not {stage} {unit or ''} after {timeout}s: {answer}")


def binlog_end(server: MariaDB) -> tuple[str, int]:
    """Where the server's binlog ends now: (file, position)."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            name, pos = cur.fetchone()[:2]
    finally:
        conn.close()
    return str(name), int(pos)


def wait_equal(upstream: MariaDB, downstream: MariaDB, db: str, tables: tuple[str, ...],
               timeout: float = 60) -> None:
    """Poll until every table of `tables` in `db` holds the same rows on both servers (a
    table not created downstream yet counts as different)."""
    deadline = time.monotonic() + timeout
    while True:
        up, down = upstream.connect(), downstream.connect()
        try:
            if all(table_rows(up, db, t) == table_rows(down, db, t) for t in tables):
                return
        except pymysql.err.MySQLError:
            pass
        finally:
            up.close()
            down.close()
        assert time.monotonic() < deadline, f"{db}: upstream and downstream differ"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def utf8_cursor(downstream: MariaDB) -> Iterator[Cursor]:
    """A cursor on the downstream with utf8mb4 on the wire, for questions to the server."""
    conn = downstream.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET NAMES utf8mb4")
            yield cursor
    finally:
        conn.close()


@contextmanager
def removed_afterwards(cluster: DMProcesses, task: str, source: str) -> Iterator[None]:
    """The task and its source go away whatever happens (a worker serves one source)."""
    try:
        yield
    finally:
        cluster.dmctl("stop-task", task, check=False)
        cluster.dmctl("operate-source", "stop", source, check=False)


Writer = Callable[[MariaDB, threading.Event], None]


@contextmanager
def replicating_under_writes(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                             tmp_path: Path, db: str, tables: tuple[str, ...], task_yaml: str,
                             writer: Writer) -> Iterator[tuple[str, int]]:
    """`db` made afresh on both servers with `tables`, a source `<db>-src` for `upstream`,
    and the task `task_yaml` (its checkpoints of an earlier run removed; formatted with
    the downstream's `port` and the upstream's binlog
    `name` and `pos`) started and Running while `writer(upstream, stop)` writes. Yields that
    binlog position; the writer is stopped on the way out."""
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", *tables)
    name, pos = binlog_end(upstream)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", f"{db}-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(task_yaml.format(port=downstream.port, name=name, pos=pos))
    stop = threading.Event()
    thread = threading.Thread(target=writer, args=(upstream, stop))
    thread.start()
    try:
        assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
        wait_stage(cluster, db, "Running")
        yield name, pos
    finally:
        stop.set()
        thread.join()
