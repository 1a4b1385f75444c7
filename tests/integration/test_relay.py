"""The relay log end to end with real dm-master, dm-worker and dmctl: a source with
`enable-relay: true` is relayed by its worker and its task reads the relay; kill -9 of the
worker while it relays loses and repeats nothing; a paused task goes on after the
upstream purged the binlog it needs (the relay holds it); purge-relay never deletes what
a task needs; pause/stop-relay send the task back to the upstream."""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    BIN_DIR,
    binlog_end,
    own_server,
    refused,
    source_yaml,
    wait_equal,
    wait_stage,
    wait_until,
)
from tests.integration.test_sync_kill import _tables, _ticker

pytestmark = pytest.mark.integration

DB = "relaye2e"
TASK = """\
name: relaye2e
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: relaye2e-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [relaye2e]}}
"""


@pytest.fixture(scope="module")
def relayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """An upstream of its own: this module purges its binlog."""
    yield from own_server(tmp_path_factory, "relayed", 31)


def _status(cluster: DMProcesses) -> tuple[dict[str, Any], dict[str, Any]]:
    """(relayStatus, the subtask's status) of the task's source."""
    source = cluster.dmctl("query-status", DB)["sources"][0]
    return source["sourceStatus"]["relayStatus"], source["subTaskStatus"][0]


def _binary_logs(server: MariaDB) -> list[str]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        names = [str(r[0]) for r in cur.fetchall()]
    conn.close()
    return names


def _purge_past(server: MariaDB, needed: str) -> None:
    """PURGE BINARY LOGS up to the current file, until `needed` is gone (MariaDB keeps a
    file a binlog dump thread still reads: a killed worker's lingers a moment)."""
    def purged() -> bool:
        server.execute(f"PURGE BINARY LOGS TO '{binlog_end(server)[0]}'")
        return needed not in _binary_logs(server)

    wait_until(f"{needed} purged", purged)


def _checkpoint_file(downstream: MariaDB, task: str = DB) -> str:
    conn = downstream.connect()
    with conn.cursor() as cur:
        cur.execute(f"SELECT binlog_name FROM dm_meta.{task}_syncer_checkpoint WHERE is_global")
        row = cur.fetchone()
    conn.close()
    return str(row[0])


def test_a_task_reads_the_relay_survives_kills_and_outlives_an_upstream_purge(
        cluster: DMProcesses, relayed: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    up = relayed
    for server in (up, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                       *(_tables(DB) if server is up else ()))
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", f"{DB}-src", up, **{"enable-relay": "true"})))["result"]
    index = cluster.base / "worker1" / "relay-dir" / f"{DB}-src" / "server-uuid.index"
    wait_until("the relay starts", index.exists)
    stop = threading.Event()
    writer = threading.Thread(target=_ticker, args=(up, stop, DB))
    writer.start()
    try:
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
        assert cluster.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        relay, sub = _status(cluster)
        assert relay["stage"] == "Running" and relay["relaySubDir"] == "0-31.000001", relay
        assert sub["sync"]["binlogType"] == "local", sub
        # kill -9 while the relay writes and the task reads it; then with the last relay
        # file cut at a random byte; then with the relay directory gone
        seed = int(os.environ.get("PYDM_SEED") or random.randrange(1 << 30))
        print(f"PYDM_SEED={seed}")  # shown with a failure: the same cut again
        rnd = random.Random(seed)
        for damage in ("none", "cut", "delete"):
            time.sleep(rnd.uniform(1, 3))
            cluster.kill_worker("worker1")
            if damage == "cut":
                last = _relay_files(cluster)[-1]
                path = _subdir(cluster) / last
                with open(path, "r+b") as f:
                    f.truncate(rnd.randrange(4, path.stat().st_size + 1))
            elif damage == "delete":
                shutil.rmtree(_subdir(cluster).parent)
            cluster.start_worker("worker1")
            wait_stage(cluster, DB, "Running", unit="Sync")
        # an XA transaction prepared, then a binlog rotation and a checkpoint past it
        up.execute("XA START 'relayed'", f"INSERT INTO {DB}.kv VALUES (200000, 2)",
                   "XA END 'relayed'", "XA PREPARE 'relayed'")
        up.execute("FLUSH BINARY LOGS")
        time.sleep(2)
        # paused, while the upstream purges every binlog the task still needs (the
        # prepared transaction's group is read again from the relay at the resume)
        assert cluster.dmctl("pause-task", DB)["result"]
        needed = _checkpoint_file(downstream)
        up.execute("FLUSH BINARY LOGS", "FLUSH BINARY LOGS")
        _purge_past(up, needed)
        assert cluster.dmctl("resume-task", DB)["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        up.execute("XA COMMIT 'relayed'")
        time.sleep(2)
    finally:
        stop.set()
        writer.join()
    wait_equal(up, downstream, DB, ("ticks", "kv"), timeout=120)
    wait_until("the relay catches up", lambda: _status(cluster)[0]["relayCatchUpMaster"])
    relay, sub = _status(cluster)
    assert sub["stage"] == "Running" and sub["sync"]["binlogType"] == "local", sub

    # purge-relay deletes what no task needs and, as DM's, stops short of what one does
    current = _checkpoint_file(downstream)
    files = _relay_files(cluster)
    assert files[0] < current, files
    answer = cluster.dmctl("purge-relay", "-s", f"{DB}-src", "-f", "binlog.999999")
    assert f"kept {current} and later: a task still needs {current}:" in \
        answer["sources"][0]["msg"], answer
    assert _relay_files(cluster) == [f for f in files if f >= current]
    unknown = cluster.dmctl("purge-relay", "-s", f"{DB}-src", "-f", current, "--sub-dir",
                            "0-31.000009", check=False)
    assert unknown["_exit"] == 1 and "30039" in unknown["sources"][0]["msg"], unknown

    # pause-relay: the task goes back to the upstream, and on once more after resume-relay
    assert cluster.dmctl("pause-relay", "-s", f"{DB}-src")["result"]
    wait_until("the task reads the upstream",
          lambda: _status(cluster)[1].get("sync", {}).get("binlogType") == "remote")
    up.execute(f"INSERT INTO {DB}.kv VALUES (100000, 1)")
    wait_equal(up, downstream, DB, ("ticks", "kv"))
    assert cluster.dmctl("resume-relay", "-s", f"{DB}-src")["result"]
    assert cluster.dmctl("stop-relay", "-s", f"{DB}-src")["result"]
    wait_until("the relay stops", lambda: _status(cluster)[0] is None)
    assert cluster.dmctl("stop-task", DB)["result"]
    assert cluster.dmctl("operate-source", "stop", f"{DB}-src")["result"]


def _subdir(cluster: DMProcesses) -> Path:
    return cluster.base / "worker1" / "relay-dir" / f"{DB}-src" / "0-31.000001"


def _relay_files(cluster: DMProcesses) -> list[str]:
    return sorted(p.name for p in _subdir(cluster).glob("binlog.[0-9]*"))


def test_a_binlog_gone_from_the_upstream_and_the_relay_is_a_clear_error(
        cluster: DMProcesses, relayed: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """The relay directory lost with the worker while the upstream purged what the task
    needs: the relay and the task both say which binlog is gone, and stay paused."""
    up = relayed
    for server in (up, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                       *(_tables(DB) if server is up else ()))
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", f"{DB}-src", up, **{"enable-relay": "true"})))["result"]
    try:
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
        assert cluster.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        up.execute(f"INSERT INTO {DB}.kv VALUES (1, 1)")
        wait_equal(up, downstream, DB, ("ticks", "kv"))
        assert cluster.dmctl("pause-task", DB)["result"]
        cluster.kill_worker("worker1")
        shutil.rmtree(_subdir(cluster).parent)
        up.execute(f"INSERT INTO {DB}.kv VALUES (2, 1)", "FLUSH BINARY LOGS")
        _purge_past(up, _checkpoint_file(downstream))
        cluster.start_worker("worker1")
        assert cluster.dmctl("resume-task", DB)["result"]
        wait_until("both report the purged binlog", lambda: _gone(cluster),
              shown=lambda: _status(cluster))
    finally:
        cluster.dmctl("stop-task", DB, check=False)
        cluster.dmctl("operate-source", "stop", f"{DB}-src", check=False)


def _gone(cluster: DMProcesses) -> bool:
    relay, sub = _status(cluster)
    return relay is not None and _codes(relay) == _codes(sub) == [36101] and \
        relay["stage"] == sub["stage"] == "Paused"


def _codes(status: dict[str, Any]) -> list[int]:
    return [e["ErrCode"] for e in (status.get("result") or {}).get("errors", [])]


def test_a_relaying_worker_keeps_its_source_through_a_freeze_shorter_than_its_relay_ttl(
        relayed: MariaDB, tmp_path: Path) -> None:
    """DM's relay-keepalive-ttl: while a worker relays, its lease is the longer one, so a
    freeze past the short TTL does not move the source; with the relay stopped it does."""
    dm = DMProcesses(tmp_path / "dm", BIN_DIR).start_master()
    try:
        dm.start_worker("worker1", keepalive_ttl=2, relay_keepalive_ttl=15)
        assert dm.dmctl("operate-source", "create", str(source_yaml(
            tmp_path / "s.yaml", "ttl-src", relayed, **{"enable-relay": "true"})))["result"]
        log = dm.base / "worker1" / "worker.log"
        wait_until("the relay lease", lambda: "(keepalive TTL 15 s)" in log.read_text())
        dm.start_worker("worker2", keepalive_ttl=2, relay_keepalive_ttl=15)
        for relaying, owner in ((True, "worker1"), (False, "worker2")):
            if not relaying:
                assert dm.dmctl("stop-relay", "-s", "ttl-src")["result"]
                wait_until("the short lease", lambda: log.read_text().count(
                    "(keepalive TTL 2 s)") == 2)
            os.kill(dm.workers["worker1"].pid, signal.SIGSTOP)
            try:
                time.sleep(7)  # 3 short TTLs
                assert dm.bound()["ttl-src"] == owner, relaying
            finally:
                os.kill(dm.workers["worker1"].pid, signal.SIGCONT)
    finally:
        dm.stop()


def test_relay_commands_refuse_what_they_cannot_do(cluster: DMProcesses, relayed: MariaDB,
                                                   tmp_path: Path) -> None:
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "norelay-src", relayed)))["result"]
    try:
        wait_until("the source is bound", lambda: cluster.bound().get("norelay-src") == "worker1")
        for args, code in ((("pause-relay", "-s", "norelay-src"), "46012"),
                           (("start-relay", "-s", "norelay-src", "worker9"), "46004"),
                           (("start-relay", "-s", "nosuch-src"), "38032"),
                           (("purge-relay", "-s", "norelay-src", "-f", "binlog.000002"),
                            "46012")):
            refused(cluster, code, *args)
        answer = cluster.dmctl("start-relay", "-s", "norelay-src", "worker1")
        assert answer["sources"] == [{"result": True, "msg": "", "source": "norelay-src",
                                      "worker": "worker1"}]
        # by name, or for the bound worker (enable-relay): one way at a time, as DM
        refused(cluster, "46028", "start-relay", "-s", "norelay-src")
        refused(cluster, "46029", "stop-relay", "-s", "norelay-src")
        assert cluster.dmctl("stop-relay", "-s", "norelay-src", "worker1")["result"]
        assert cluster.dmctl("start-relay", "-s", "norelay-src")["result"]
        shown = cluster.dmctl("get-config", "source", "norelay-src")["cfg"]
        assert "enable-relay: true" in shown, shown
        refused(cluster, "46030", "start-relay", "-s", "norelay-src", "worker1")
        refused(cluster, "46031", "stop-relay", "-s", "norelay-src", "worker1")
        assert cluster.dmctl("stop-relay", "-s", "norelay-src")["result"]
        assert "enable-relay: false" in cluster.dmctl("get-config", "source",
                                                      "norelay-src")["cfg"]
    finally:
        cluster.dmctl("operate-source", "stop", "norelay-src", check=False)

