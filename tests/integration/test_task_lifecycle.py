"""pause-task / resume-task mid-load, worker restart after Finished, list-member, get-config
(task, master, worker)."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import refused, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: life
task-mode: full
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: "{password}"}}
mysql-instances:
  - source-id: life-src
    block-allow-list: only
    mydumper: {{threads: 2, rows: 1000}}
    loader-thread: 1
block-allow-list:
  only: {{do-dbs: [lifedb]}}
"""


def test_pause_resume_restart_and_members(cluster: DMProcesses, upstream: MariaDB,
                                          downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute("DROP DATABASE IF EXISTS lifedb", "CREATE DATABASE lifedb", "USE lifedb",
                     "CREATE TABLE t (id INT PRIMARY KEY, v CHAR(200))",
                     "INSERT INTO t SELECT seq, REPEAT('x', 200) FROM seq_1_to_400000")
    downstream.execute("DROP DATABASE IF EXISTS lifedb", "DROP DATABASE IF EXISTS dm_meta",
                       "DROP USER IF EXISTS 'life'@'%'",
                       "CREATE USER 'life'@'%' IDENTIFIED BY 'se cret'",
                       "GRANT ALL ON *.* TO 'life'@'%'")
    encrypted = cluster.run_dmctl("encrypt", "se cret")
    assert encrypted.returncode == 0
    assert cluster.dmctl("operate-source", "create",
                         str(source_yaml(tmp_path / "s.yaml", "life-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, password=encrypted.stdout.strip())
                    .replace("user: root", "user: life"))
    assert cluster.dmctl("start-task", str(task))["result"]

    while True:  # pause once some chunks are loaded
        subs = cluster.api("query-status", {"task": "life"})["sources"][0]["subTaskStatus"]
        st: dict[str, Any] = subs[0] if subs else {"stage": "New"}
        if st["stage"] == "Finished":
            pytest.fail("finished before it could be paused")
        if int(st.get("load", {}).get("loadedChunks", 0)) >= 20:
            break
        time.sleep(0.02)
    assert cluster.dmctl("pause-task", str(task))["result"]  # a task file works as DM's
    paused = wait_stage(cluster, "life", "Paused")
    loaded_at_pause = paused["sources"][0]["subTaskStatus"][0]["load"]["loadedChunks"]
    time.sleep(1)
    still = cluster.dmctl("query-status", "life")["sources"][0]["subTaskStatus"][0]
    assert still["stage"] == "Paused" and still["load"]["loadedChunks"] == loaded_at_pause
    assert cluster.dmctl("query-status")["tasks"][0]["taskStatus"] == "Paused"
    # without a task, --more or -s give each source's subtasks in full, as DM's
    for flags in (["--more"], ["-s", "life-src"]):
        full = cluster.dmctl("query-status", *flags)
        assert "tasks" not in full, flags
        (source,) = full["sources"]
        assert source["sourceStatus"]["source"] == "life-src"
        assert [(st["name"], st["stage"]) for st in source["subTaskStatus"]] == [
            ("life", "Paused")]

    assert cluster.dmctl("resume-task", "life")["result"]
    wait_stage(cluster, "life", "Finished")
    assert table_rows(downstream.connect(), "lifedb", "t") == table_rows(upstream.connect(),
                                                                         "lifedb", "t")

    # a restarted worker finds the task finished from the checkpoint: nothing dumped again
    cluster.kill_worker("worker1")
    cluster.start_worker("worker1")
    wait_stage(cluster, "life", "Finished", timeout=60)
    assert not (cluster.base / "worker1" / "dumped_data.life").exists()

    members = cluster.dmctl("list-member")["members"]
    workers = next(m["worker"]["workers"] for m in members if "worker" in m)
    assert {"name": "worker1", "stage": "bound", "source": "life-src"}.items() <= \
        workers[0].items()
    leader = next(m["leader"] for m in members if "leader" in m)
    assert leader["name"] == "master1"
    config = cluster.dmctl("get-config", "task", "life")["cfg"]
    assert "se cret" not in config and "life-src" in config
    master = tomllib.loads(cluster.dmctl("get-config", "master", "master1")["cfg"])
    assert master["name"] == "master1" and master["master-addr"] == cluster.master_addr
    worker = tomllib.loads(cluster.dmctl("get-config", "worker", "worker1")["cfg"])
    assert worker["name"] == "worker1" and worker["keepalive-ttl"] == 5
    for kind, code in (("master", "38048"), ("worker", "46004")):
        refused(cluster, code, "get-config", kind, "nobody")
    shown = tmp_path / "shown.yaml"
    assert cluster.dmctl("config", "task", "life", "-p", str(shown))["result"]
    assert "name: life" in shown.read_text() and "se cret" not in shown.read_text()

    # DM 2.0.5's config export / import: the task comes back, its password still works
    out = tmp_path / "configs"
    assert cluster.dmctl("config", "export", "-p", str(out))["result"]
    assert sorted(p.name for p in out.rglob("*.yaml")) == ["life-src.yaml", "life.yaml"]
    assert "se cret" not in (out / "tasks" / "life.yaml").read_text()
    assert cluster.dmctl("stop-task", "life")["result"]
    assert cluster.dmctl("query-status", "life", check=False)["_exit"] == 1
    assert cluster.dmctl("operate-source", "stop", "life-src")["result"]
    downstream.execute("DROP DATABASE lifedb", "DROP DATABASE dm_meta")
    assert cluster.dmctl("config", "import", "-p", str(out))["result"]
    wait_stage(cluster, "life", "Finished", timeout=120)
    up, down = upstream.connect(), downstream.connect()
    try:
        assert table_rows(down, "lifedb", "t") == table_rows(up, "lifedb", "t")
    finally:
        up.close()
        down.close()
    assert cluster.dmctl("stop-task", "life")["result"]
    assert cluster.dmctl("operate-source", "stop", "life-src")["result"]
