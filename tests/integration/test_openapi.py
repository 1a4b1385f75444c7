"""DM's OpenAPI v1 and the web page on it (`openapi = true`), against two real masters,
two workers and real MariaDB servers: sources, relay, transfer, tasks with routes and
binlog filter rules, status, pause/resume, tracked schemas, cluster members; errors as
`{error_code, error_msg}`; a follower answering 307 to the leader; the web page rendered
by a real headless Chromium, following the leader and showing a task's error with its
way out."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from dm.master.openapi.document import OPERATIONS
from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import BIN_DIR, binlog_end, fetch, rows_of, wait_until

pytestmark = pytest.mark.integration

DB = "oapi"
SOURCE = "oapi-src"
TASK = "oapi"


class Answer:
    def __init__(self, status: int, body: Any, location: str) -> None:
        self.status, self.body, self.location = status, body, location

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body!r}, {self.location!r})"


def call(port: int, method: str, path: str, body: Any = None, *,
         content_type: str = "application/json", headers: dict[str, str] | None = None
         ) -> Answer:
    """One HTTP request (a str body as it is, anything else as JSON), redirects not
    followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = body if isinstance(body, str) or body is None else json.dumps(body)
        conn.request(method, path, body=payload, headers={
            **({"Content-Type": content_type} if payload is not None else {}),
            **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        shown = json.loads(raw) if raw and resp.getheader("Content-Type", "").startswith(
            "application/json") else raw.decode()
        return Answer(resp.status, shown, resp.getheader("Location", ""))
    finally:
        conn.close()


def ok(answer: Answer, status: int = 200) -> Any:
    assert answer.status == status, answer
    return answer.body


def refused(answer: Answer, code: int, *words: str) -> str:
    """A 400 with DM's error body of `code`, its message naming every one of `words`."""
    assert answer.status == 400 and answer.body["error_code"] == code, answer
    for word in words:
        assert word in answer.body["error_msg"], answer
    return str(answer.body["error_msg"])


@pytest.fixture(scope="module")
def api_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DMProcesses]:
    dm = DMProcesses(tmp_path_factory.mktemp("dm"), BIN_DIR, master_config="openapi = true\n")
    try:
        dm.start_masters(2)
        dm.start_worker("worker1")
        dm.start_worker("worker2")
        yield dm
    finally:
        dm.stop()


def leader_and_follower(dm: DMProcesses) -> tuple[int, int]:
    leader = dm.leader()
    assert leader
    follower = next(n for n in dm.master_ports if n != leader)
    return dm.master_ports[leader], dm.master_ports[follower]


def source_body(server: MariaDB, **extra: Any) -> dict[str, Any]:
    return {"source_name": SOURCE, "host": "127.0.0.1", "port": server.port, "user": "root",
            "password": "", "enable_gtid": False, **extra}


def task_body(downstream: MariaDB) -> dict[str, Any]:
    """All mode; `src` routed to `dst`; TRUNCATE of `src` ignored by a binlog filter rule;
    `plain` taken as it is."""
    return {
        "remove_meta": True,
        "task": {
            "name": TASK, "task_mode": "all", "enhance_online_schema_change": False,
            "on_duplicate": "overwrite",
            "target_config": {"host": "127.0.0.1", "port": downstream.port, "user": "root",
                              "password": ""},
            "binlog_filter_rule": {"keep-rows": {"ignore_event": ["truncate table"]}},
            "table_migrate_rule": [
                {"source": {"source_name": SOURCE, "schema": DB, "table": "src"},
                 "target": {"schema": DB, "table": "dst"},
                 "binlog_filter_rule": ["keep-rows"]},
                {"source": {"source_name": SOURCE, "schema": DB, "table": "plain"}}],
            "source_config": {
                "full_migrate_conf": {"export_threads": 2, "import_threads": 2,
                                      "data_dir": "./dumped"},
                "incr_migrate_conf": {"repl_threads": 4, "repl_batch": 50},
                "source_conf": [{"source_name": SOURCE}]}}}


def chromium(url: str, *extra: str) -> str:
    """The DOM a real headless Chromium makes of `url` once its scripts ran."""
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is needed (scripts/setup.sh chromium)"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--virtual-time-budget=15000", *extra, "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def equal_rows(upstream: MariaDB, downstream: MariaDB) -> bool:
    return (rows_of(upstream, DB, "src") == rows_of(downstream, DB, "dst")
            and rows_of(upstream, DB, "plain") == rows_of(downstream, DB, "plain"))


def test_the_document_lists_every_operation_and_swagger_ui_renders_it(
        api_cluster: DMProcesses) -> None:
    port = api_cluster.master_port
    doc = ok(call(port, "GET", "/api/v1/dm.json"))
    assert doc["openapi"] == "3.0.3"
    for op in OPERATIONS:
        assert doc["paths"][op.path][op.method.lower()]["operationId"] == op.operation_id
    dom = chromium(f"http://127.0.0.1:{port}/api/v1/docs")
    for op in OPERATIONS:  # Swagger UI draws one block per operation, named by its path
        assert op.path in dom, op.path


def test_sources_tasks_and_the_cluster_through_the_api(
        api_cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB) -> None:
    leader, follower = leader_and_follower(api_cluster)
    # a follower sends every API call, and the web page, to the leader
    moved = call(follower, "GET", "/api/v1/cluster/masters")
    assert moved.status == 307 and moved.location == f"http://127.0.0.1:{leader}" \
        "/api/v1/cluster/masters", moved
    page = call(follower, "GET", "/dashboard/")
    assert page.status == 307 and page.location.endswith(f":{leader}/dashboard/"), page
    # a page of another site may not change the cluster; a body must be JSON
    hostile = call(leader, "POST", f"/api/v1/tasks/{TASK}/pause",
                   headers={"Origin": "http://evil.example"})
    assert hostile.status == 403 and hostile.body["error_code"] == 49001, hostile
    refused(call(leader, "POST", "/api/v1/sources", "{}", content_type="text/plain"), 49001,
            "application/json")
    refused(call(leader, "GET", "/api/v1/sources?with_stauts=true"), 49001, "with_stauts")
    masters = ok(call(leader, "GET", "/api/v1/cluster/masters"))
    assert masters["total"] == 2 and sum(m["leader"] for m in masters["data"]) == 1
    assert all(m["alive"] for m in masters["data"])

    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}")
    upstream.execute(f"CREATE TABLE {DB}.src (id INT PRIMARY KEY, v VARCHAR(20))",
                     f"CREATE TABLE {DB}.plain (id INT PRIMARY KEY, w VARCHAR(20))",
                     f"CREATE TABLE {DB}.other (id INT PRIMARY KEY)",
                     *(f"INSERT INTO {DB}.src VALUES ({i}, 'é{i}')" for i in range(1, 101)),
                     f"INSERT INTO {DB}.plain VALUES (1, 'p1'), (2, 'p2')")

    # sources: a bad body is refused naming the field; a good one created once
    refused(call(leader, "POST", "/api/v1/sources", {"source_name": SOURCE}), 49001,
            "host", "Field required")
    refused(call(leader, "POST", "/api/v1/sources", source_body(upstream, colour="red")),
            49001, "colour", "Extra inputs are not permitted")
    created = ok(call(leader, "POST", "/api/v1/sources", source_body(upstream)), 201)
    assert created["source_name"] == SOURCE and created["password"] == "******"
    try:
        refused(call(leader, "POST", "/api/v1/sources", source_body(upstream)), 38033, SOURCE)
        def bound_worker() -> str:
            listed = ok(call(leader, "GET", "/api/v1/sources?with_status=true"))
            assert [s["source_name"] for s in listed["data"]] == [SOURCE]
            return str(listed["data"][0]["status_list"][0]["worker_name"])

        wait_until("the source bound", bound_worker)
        bound = bound_worker()
        assert bound in ("worker1", "worker2")
        assert DB in ok(call(leader, "GET", f"/api/v1/sources/{SOURCE}/schemas"))
        assert ok(call(leader, "GET", f"/api/v1/sources/{SOURCE}/schemas/{DB}")) == [
            "other", "plain", "src"]
        _relay_and_transfer(api_cluster, leader, bound, binlog_end(upstream)[0])
        _a_task(api_cluster, leader, upstream, downstream)
        # a source with a task is kept unless forced; forced, its task stops on it first
        refused(call(leader, "DELETE", f"/api/v1/sources/{SOURCE}"), 46010, TASK)
        ok(call(leader, "DELETE", f"/api/v1/sources/{SOURCE}?force=true"), 204)
    finally:
        call(leader, "DELETE", f"/api/v1/sources/{SOURCE}?force=true")
    assert ok(call(leader, "GET", "/api/v1/sources"))["total"] == 0
    assert ok(call(leader, "GET", "/api/v1/tasks"))["total"] == 0
    refused(call(leader, "GET", f"/api/v1/tasks/{TASK}/status"), 38006, TASK)
    workers = ok(call(leader, "GET", "/api/v1/cluster/workers"))
    assert {w["name"]: w["bound_stage"] for w in workers["data"]} == {
        "worker1": "free", "worker2": "free"}
    refused(call(leader, "DELETE", "/api/v1/cluster/workers/worker1"), 46005, "worker1")


def _relay_and_transfer(dm: DMProcesses, leader: int, bound: str, first_binlog: str
                        ) -> None:
    ok(call(leader, "POST", f"/api/v1/sources/{SOURCE}/start-relay",
            {"worker_name_list": [bound], "relay_binlog_name": first_binlog}))
    assert f"relay-binlog-name: {first_binlog}" in dm.dmctl(
        "get-config", "source", SOURCE)["cfg"]
    wait_until("the relay runs", lambda: (ok(call(
        leader, "GET", f"/api/v1/sources/{SOURCE}/status"))["data"][0].get("relay_status")
        or {}).get("stage") == "Running")
    refused(call(leader, "POST", f"/api/v1/sources/{SOURCE}/start-relay",
                 {"worker_name_list": [bound], "relay_binlog_name": "mysql-bin.000001"}),
            49001, "already started", "stop-relay")
    ok(call(leader, "POST", f"/api/v1/sources/{SOURCE}/pause-relay"))
    wait_until("the relay paused", lambda: ok(call(
        leader, "GET", f"/api/v1/sources/{SOURCE}/status"))["data"][0]["relay_status"][
        "stage"] == "Paused")
    ok(call(leader, "POST", f"/api/v1/sources/{SOURCE}/resume-relay"))
    ok(call(leader, "POST", f"/api/v1/sources/{SOURCE}/stop-relay",
            {"worker_name_list": [bound]}))
    other = "worker2" if bound == "worker1" else "worker1"
    ok(call(leader, "POST", f"/api/v1/sources/{SOURCE}/transfer", {"worker_name": other}))
    status = ok(call(leader, "GET", f"/api/v1/sources/{SOURCE}/status"))
    assert [s["worker_name"] for s in status["data"]] == [other]
    refused(call(leader, "POST", f"/api/v1/sources/{SOURCE}/transfer",
                 {"worker_name": "nobody"}), 46004, "nobody")


def _task_status(leader: int) -> list[dict[str, Any]]:
    return list(ok(call(leader, "GET", f"/api/v1/tasks/{TASK}/status"))["data"])


def _a_task(dm: DMProcesses, leader: int, upstream: MariaDB, downstream: MariaDB) -> None:
    body = task_body(downstream)
    unknown = json.loads(json.dumps(body))
    unknown["task"]["table_migrate_rule"][0]["binlog_filter_rule"] = ["nope"]
    refused(call(leader, "POST", "/api/v1/tasks", unknown), 49001, "nope")
    assert ok(call(leader, "GET", "/api/v1/tasks"))["total"] == 0  # nothing half-started
    started = ok(call(leader, "POST", "/api/v1/tasks", body), 201)
    assert started["target_config"]["password"] == "******"
    refused(call(leader, "POST", "/api/v1/tasks", body), 38005, TASK)
    try:
        wait_until("the task syncs", lambda: [
            (s["stage"], s["unit"]) for s in _task_status(leader)] == [("Running", "Sync")])
        upstream.execute(f"UPDATE {DB}.src SET v = CONCAT(v, '+') WHERE id <= 10",
                         f"INSERT INTO {DB}.src VALUES (200, 'new')",
                         f"DELETE FROM {DB}.plain WHERE id = 2",
                         f"INSERT INTO {DB}.other VALUES (1)")
        wait_until("routed rows equal", lambda: equal_rows(upstream, downstream))
        assert not fetch(downstream, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                     f"WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME IN "
                                     "('src', 'other')")  # routed away / not taken
        listed = ok(call(leader, "GET", "/api/v1/tasks"))
        assert listed["data"] == [started]
        shown = _task_status(leader)[0]
        assert (shown["source_name"], shown["worker_name"], shown["unit"]) == (
            SOURCE, dm.bound()[SOURCE], "Sync")
        assert shown["sync_status"]["total_events"] > 0 and shown["errors"] == []

        # pause; the tracked schemas of the paused subtask; resume
        ok(call(leader, "POST", f"/api/v1/tasks/{TASK}/pause"))
        wait_until("paused", lambda: _task_status(leader)[0]["stage"] == "Paused")
        tracked = f"/api/v1/tasks/{TASK}/sources/{SOURCE}/schemas"
        assert ok(call(leader, "GET", tracked)) == [DB]
        assert ok(call(leader, "GET", f"{tracked}/{DB}")) == ["plain", "src"]
        table = ok(call(leader, "GET", f"{tracked}/{DB}/src"))
        assert table["table_name"] == "src" and "CREATE TABLE" in table["schema_create_sql"]
        ok(call(leader, "PUT", f"{tracked}/{DB}/src",
                {"sql_content": table["schema_create_sql"]}))
        ok(call(leader, "DELETE", f"{tracked}/{DB}/plain"), 204)
        assert ok(call(leader, "GET", f"{tracked}/{DB}")) == ["src"]
        refused(call(leader, "DELETE", f"{tracked}/{DB}/plain"), 44005, "plain")
        ok(call(leader, "POST", f"/api/v1/tasks/{TASK}/resume", [SOURCE]))
        upstream.execute(f"TRUNCATE TABLE {DB}.src", f"INSERT INTO {DB}.plain VALUES (3, 'p3')")
        wait_until("plain equal", lambda: rows_of(upstream, DB, "plain") == rows_of(
            downstream, DB, "plain"))
        assert len(rows_of(downstream, DB, "dst")) == 101  # the TRUNCATE was filtered

        # an error with its way out, on the web page too (opened on the follower)
        downstream.execute(f"INSERT INTO {DB}.plain VALUES (1000, 'p1')")
        upstream.execute(f"ALTER TABLE {DB}.plain ADD UNIQUE KEY (w)")
        wait_until("paused on the DDL", lambda: _task_status(leader)[0]["errors"])
        failure = _task_status(leader)[0]["errors"][0]
        assert failure["error_code"] == 36013 and "binlog skip" in failure["workaround"]
        follower = next(p for p in dm.master_ports.values() if p != leader)
        dom = chromium(f"http://127.0.0.1:{follower}/dashboard/")
        assert f'<div class="task" data-task="{TASK}">' in dom
        assert f'<tr data-source="{SOURCE}"><td>{SOURCE}</td><td>{dm.bound()[SOURCE]}</td>' \
            '<td><span class="stage Error">Error</span></td><td>Sync</td>' in dom, dom
        card = dom[dom.index(f'<div class="error" data-source="{SOURCE}">'):]
        assert "code 36013" in card[:2000] and "binlog skip" in card[:2000], card[:2000]
        assert "Duplicate entry" in card[:2000]  # the server's words
        assert "cannot read the cluster" not in dom
        assert dm.dmctl("binlog", "skip", TASK)["result"]
        wait_until("resumed past it", lambda: _task_status(leader)[0]["stage"] == "Running")
        upstream.execute(f"INSERT INTO {DB}.plain VALUES (4, 'p4')")
        downstream.execute(f"DELETE FROM {DB}.plain WHERE id = 1000")
        wait_until("plain equal", lambda: rows_of(upstream, DB, "plain") == rows_of(
            downstream, DB, "plain"))
    except BaseException:
        call(leader, "DELETE", f"/api/v1/tasks/{TASK}")
        raise
