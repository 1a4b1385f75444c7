"""A second dm-master joins a running cluster with --join; a follower forwards to the leader."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, free_port, stop_pid, wait_for
from tests.integration.conftest import BIN_DIR

pytestmark = pytest.mark.integration


@pytest.fixture()
def two_masters(tmp_path: Path) -> Iterator[tuple[DMProcesses, str]]:
    dm = DMProcesses(tmp_path / "dm", BIN_DIR).start_master()
    port = free_port()
    mdir = tmp_path / "master2"
    mdir.mkdir()
    second = subprocess.Popen(
        [str(BIN_DIR / "dm-master"), "--name", "master2", "--master-addr", f"127.0.0.1:{port}",
         "--peer-urls", f"http://127.0.0.1:{free_port()}",
         "--etcd-client-urls", f"http://127.0.0.1:{free_port()}",
         "--data-dir", str(mdir / "data"), "--join", dm.master_addr,
         "--log-file", str(mdir / "master.log")], cwd=mdir)
    try:
        wait_for(lambda: dm.answers(port, "/status", second), 60, "dm-master master2")
        yield dm, f"127.0.0.1:{port}"
    finally:
        stop_pid(second)
        dm.stop()


def test_join_and_forward(two_masters: tuple[DMProcesses, str]) -> None:
    dm, second = two_masters
    members = dm.dmctl("list-member", "--master")["members"][0]["master"]["masters"]
    assert sorted(m["name"] for m in members) == ["master1", "master2"]
    via_follower = subprocess.run([str(BIN_DIR / "dmctl"), "--master-addr", second,
                                   "list-member", "--leader"], capture_output=True, text=True)
    answer = json.loads(via_follower.stdout)
    assert answer["result"] is True
    assert answer["members"][0]["leader"]["name"] == "master1"
