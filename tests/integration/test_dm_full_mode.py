"""DM's own `full_mode` scenario replayed: its SQL workloads and its unchanged task and
source files (encrypted password, deprecated keys), two sources, two workers."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import wait_stage
from tests.shared import DM_TESTS

pytestmark = pytest.mark.integration

SCENARIO = DM_TESTS / "full_mode"
DM_SQL_MODE = ("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
               "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")
# DM's run.sh adds names that need quoting everywhere (not part of the data files).
AWKWARD_NAMES = [
    "DROP DATABASE IF EXISTS `full/mode`", "CREATE DATABASE `full/mode`",
    "CREATE TABLE `full/mode`.`tb/1` (id INT PRIMARY KEY, v VARCHAR(10))",
    "CREATE TABLE `full/mode`.`tb\"1` (id INT PRIMARY KEY, v VARCHAR(10))",
    "INSERT INTO `full/mode`.`tb/1` VALUES (1, 'a/b')",
    "INSERT INTO `full/mode`.`tb\"1` VALUES (1, 'a\"b')",
]


def replay(server: MariaDB, sql_file: Path, sql_mode: str = DM_SQL_MODE) -> None:
    """Run one of DM's workload files with the mariadb client, MariaDB adjustments applied."""
    text = sql_file.read_text()
    # MariaDB has no `->` JSON operator (dm-test-scenarios.md §1.4.2)
    text = text.replace("info->\"$.id\"", "JSON_VALUE(info, '$.id')")
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(server.port), "-u", "root",
                    "--default-character-set=utf8mb4"],
                   input=f"SET SESSION sql_mode = '{sql_mode}';\n{text}", text=True,
                   check=True, capture_output=True)


def dm_config(name: str, **overrides: Mapping[str, object]) -> str:
    doc = yaml.safe_load((SCENARIO / "conf" / name).read_text())  # source2 relays
    for key, values in overrides.items():
        doc[key].update(values)
    return yaml.safe_dump(doc)


def test_dm_full_mode_scenario(cluster: DMProcesses, upstream: MariaDB, upstream2: MariaDB,
                               downstream: MariaDB, tmp_path: Path) -> None:
    cluster.start_worker("worker2")
    for server, n in ((upstream, 1), (upstream2, 2)):
        replay(server, SCENARIO / "data" / f"db{n}.prepare.user.sql")
        replay(server, SCENARIO / "data" / f"db{n}.prepare.sql",
               DM_SQL_MODE + ",NO_BACKSLASH_ESCAPES")
    upstream.execute(*AWKWARD_NAMES)
    # the dump must not depend on the upstream's sql_mode
    upstream.execute(f"SET GLOBAL sql_mode = '{DM_SQL_MODE},NO_BACKSLASH_ESCAPES,ANSI_QUOTES'")
    downstream.execute("DROP DATABASE IF EXISTS full_mode", "DROP DATABASE IF EXISTS `full/mode`",
                       "DROP DATABASE IF EXISTS dm_meta")
    try:
        for server, n in ((upstream, 1), (upstream2, 2)):
            src = tmp_path / f"source{n}.yaml"
            # DM's file as is (encrypted password of user dm_full), pointed at our server
            src.write_text(dm_config(f"source{n}.yaml", **{"from": {"port": server.port}}))
            assert cluster.dmctl("operate-source", "create", str(src))["result"]
        task_doc = yaml.safe_load(dm_config("dm-task.yaml", **{"target-database": {
            "port": downstream.port}}))
        task_doc["block-allow-list"]["instance"]["do-dbs"].append("full/mode")
        task = tmp_path / "dm-task.yaml"
        task.write_text(yaml.safe_dump(task_doc))
        assert cluster.dmctl("start-task", str(task))["result"]
        status = wait_stage(cluster, "test", "Finished")
    finally:
        upstream.execute(f"SET GLOBAL sql_mode = '{DM_SQL_MODE}'")

    for src in status["sources"]:
        assert src["subTaskStatus"][0]["load"]["progress"] == "100.00 %"
    down = downstream.connect()
    assert table_rows(down, "full_mode", "t1") == table_rows(upstream.connect(), "full_mode", "t1")
    assert table_rows(down, "full_mode", "t2") == table_rows(upstream2.connect(), "full_mode",
                                                              "t2")
    for table in ("tb/1", 'tb"1'):
        assert table_rows(down, "full/mode", table) == table_rows(upstream.connect(),
                                                                  "full/mode", table)
    # dump directories are cleaned after a full task, as in DM
    for worker in ("worker1", "worker2"):
        assert not list((cluster.base / worker).glob("dumped_data.test*"))
    assert cluster.dmctl("stop-task", "test")["result"]
    for sid in ("mysql-replica-01", "mysql-replica-02"):
        assert cluster.dmctl("operate-source", "stop", sid)["result"]
