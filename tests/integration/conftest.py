"""Real servers for the integration tests: throwaway mariadbd upstreams and downstream,
and a real dm-master + dm-worker pair, all on free ports in temp dirs, stopped by PID."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB

BIN_DIR = Path(sys.executable).parent


@pytest.fixture(scope="session")
def server_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _server(tmp: pytest.TempPathFactory, cache: Path, name: str, server_id: int,
            log_bin: bool) -> Iterator[MariaDB]:
    server = MariaDB(tmp.mktemp(name), server_id=server_id, log_bin=log_bin).start(cache)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory, server_cache: Path) -> Iterator[MariaDB]:
    yield from _server(tmp_path_factory, server_cache, "upstream", 1, True)


@pytest.fixture(scope="session")
def upstream2(tmp_path_factory: pytest.TempPathFactory, server_cache: Path) -> Iterator[MariaDB]:
    yield from _server(tmp_path_factory, server_cache, "upstream2", 3, True)


@pytest.fixture(scope="session")
def downstream(tmp_path_factory: pytest.TempPathFactory, server_cache: Path
               ) -> Iterator[MariaDB]:
    yield from _server(tmp_path_factory, server_cache, "downstream", 2, False)


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


def wait_stage(dm: DMProcesses, task: str, stage: str, timeout: float = 300
               ) -> dict[str, Any]:
    """Poll query-status until every subtask reaches `stage`; fail fast on a paused error."""
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = dm.dmctl("query-status", task, check=False)
        subs = [st for s in answer.get("sources", []) for st in s.get("subTaskStatus", [])]
        errors = [st["result"] for st in subs if st.get("result")]
        if errors and stage != "Paused":
            raise AssertionError(f"task {task} paused with errors: {errors}")
        if subs and all(st["stage"] == stage for st in subs):
            return answer
        time.sleep(0.3)
    raise AssertionError(f"task {task} not {stage} after {timeout}s: {answer}")
