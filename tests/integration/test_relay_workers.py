"""Relay workers (DM 2.0.2+ `start-relay -s <source> <worker>...`): a free worker named for
a source keeps a warm copy of its binlog and is bound to no other source; when the bound
worker dies, the source goes to it, and its task goes on from that copy even though the
upstream purged the binlog in between. DM's refusals of start/stop-relay, transfer-source
and operate-source stop around relay workers."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
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
from tests.integration.test_relay import _checkpoint_file, _purge_past
from tests.integration.test_sync_kill import _tables, _ticker

pytestmark = pytest.mark.integration

DB = "relayworkers"
SRC = f"{DB}-src"
OTHER = f"{DB}-other"
TTL = 4
TASK = """\
name: relayworkers
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: relayworkers-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [relayworkers]}}
"""


@pytest.fixture()
def upstream_of_its_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "relayworkers", 41)


@pytest.fixture()
def two_workers(tmp_path: Path) -> Iterator[DMProcesses]:
    dm = DMProcesses(tmp_path / "dm", BIN_DIR).start_master()
    try:
        dm.start_worker("worker1", keepalive_ttl=TTL)
        yield dm
    finally:
        dm.stop()


def _members(dm: DMProcesses) -> dict[str, tuple[str, str]]:
    workers = dm.dmctl("list-member", "--worker")["members"][0]["worker"]["workers"]
    return {w["name"]: (w["stage"], w["source"]) for w in workers}


def _relay_files(dm: DMProcesses, worker: str) -> list[str]:
    return sorted(p.name for p in (dm.base / worker / "relay-dir" / SRC).glob("*/binlog.0*"))


def _relay_status(dm: DMProcesses, worker: str) -> dict[str, Any] | None:
    """relayStatus as the worker itself reports it (query-status shows the bound one's)."""
    url = f"http://127.0.0.1:{dm.worker_ports[worker]}/api/v1/subtasks"
    with urllib.request.urlopen(url, timeout=10) as resp:
        status: dict[str, Any] | None = json.load(resp)["relayStatus"]
    return status


def _subtask(dm: DMProcesses) -> dict[str, Any]:
    return dict(dm.dmctl("query-status", DB)["sources"][0]["subTaskStatus"][0])


def test_a_warm_relay_worker_takes_the_source_over_past_an_upstream_purge(
        two_workers: DMProcesses, upstream_of_its_own: MariaDB, downstream: MariaDB,
        tmp_path: Path) -> None:
    dm, up = two_workers, upstream_of_its_own
    for server in (up, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                       *(_tables(DB) if server is up else ()))
    assert dm.dmctl("operate-source", "create",
                    str(source_yaml(tmp_path / "s.yaml", SRC, up)))["result"]
    wait_until("worker1 bound", lambda: dm.bound().get(SRC) == "worker1")
    dm.start_worker("worker2", keepalive_ttl=TTL)
    wait_until("worker2 free", lambda: _members(dm).get("worker2") == ("free", ""))
    answer = dm.dmctl("start-relay", "-s", SRC, "worker1", "worker2")
    assert answer["result"] is True, answer
    assert _members(dm) == {"worker1": ("bound", SRC), "worker2": ("relay", SRC)}
    stop = threading.Event()
    writer = threading.Thread(target=_ticker, args=(up, stop, DB))
    writer.start()
    try:
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
        assert dm.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))["result"]
        wait_stage(dm, DB, "Running", unit="Sync")
        wait_until("worker1 reads its relay",
                   lambda: _subtask(dm)["sync"]["binlogType"] == "local",
                   shown=lambda: _subtask(dm))
        wait_until("worker2 keeps a copy", lambda: _relay_files(dm, "worker2"))
        up.execute("FLUSH BINARY LOGS")
        time.sleep(2)
        # the bound worker dies; while the source is away, the upstream purges the binlog
        # the task needs: only worker2's copy has it
        dm.kill_worker("worker1")
        needed, current = _checkpoint_file(downstream, DB), binlog_end(up)[0]
        wait_until(f"worker2 relays from {needed} to {current}",  # a file is whole once
                   lambda: {needed, current} <= set(_relay_files(dm, "worker2")))  # the next is
        up.execute("FLUSH BINARY LOGS")
        _purge_past(up, needed)
        wait_until("the source moves to its relay worker",
                   lambda: dm.bound().get(SRC) == "worker2", timeout=30)
        wait_stage(dm, DB, "Running", unit="Sync")
        assert _subtask(dm)["sync"]["binlogType"] == "local"
        time.sleep(2)
    finally:
        stop.set()
        writer.join()
    wait_equal(up, downstream, DB, ("ticks", "kv"), timeout=120)
    assert _subtask(dm)["result"] is None

    # a relay worker of the source is bound to nothing else, even with another source
    # waiting for a worker
    # worker1 comes back: its relay ends in a binlog the upstream purged, before where
    # the task now is, so it starts afresh from the task's checkpoint (DM's rule)
    dm.start_worker("worker1", keepalive_ttl=TTL)
    wait_until("worker1 relays again", lambda: _members(dm).get("worker1") == ("relay", SRC))
    wait_until("worker1's relay catches up", lambda: (_relay_status(dm, "worker1") or {}).get(
        "relayCatchUpMaster"), shown=lambda: _relay_status(dm, "worker1"))
    status = _relay_status(dm, "worker1")
    assert status is not None
    assert status["result"] is None
    assert dm.dmctl("operate-source", "create",
                    str(source_yaml(tmp_path / "o.yaml", OTHER, up)))["result"]
    time.sleep(2)
    assert OTHER not in dm.bound() and _members(dm)["worker1"] == ("relay", SRC)
    refused(dm, "46020", "start-relay", "-s", OTHER, "worker1")
    refused(dm, "46022", "stop-relay", "-s", OTHER, "worker1")
    refused(dm, "46027", "transfer-source", OTHER, "worker1")
    refused(dm, "46028", "start-relay", "-s", SRC)
    refused(dm, "46029", "stop-relay", "-s", SRC)
    refused(dm, "46004", "start-relay", "-s", SRC, "worker9")
    refused(dm, "46010", "operate-source", "stop", SRC)

    # purge-relay reaches every relay worker; each keeps what the task needs
    wait_until("worker1 catches up", lambda: _relay_files(dm, "worker1"))
    purged = dm.dmctl("purge-relay", "-s", SRC, "-f", "binlog.999999")
    assert sorted(e["worker"] for e in purged["sources"]) == ["worker1", "worker2"], purged

    # stop-relay on worker1: it is free again and takes the waiting source
    assert dm.dmctl("stop-relay", "-s", SRC, "worker1")["result"]
    wait_until("worker1 bound to the other source", lambda: dm.bound().get(OTHER) == "worker1")
    refused(dm, "46021", "start-relay", "-s", SRC, "worker1")
    assert dm.dmctl("stop-task", DB)["result"]
    refused(dm, "46023", "operate-source", "stop", SRC)
    assert dm.dmctl("stop-relay", "-s", SRC, "worker2")["result"]
    log = dm.base / "worker2" / "worker.log"
    wait_until("worker2 stops relaying", lambda: f"relay of {SRC}: stopped" in log.read_text())
    for source in (SRC, OTHER):
        assert dm.dmctl("operate-source", "stop", source)["result"]
