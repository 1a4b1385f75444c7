"""A TLS upstream whose replication user must show a client certificate (REQUIRE X509):
precheck, dump and the binlog reader must all use the source's `security` material, or
the server refuses them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dm import errors
from dm.db import Endpoint, connect
from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import removed_afterwards, source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: tlstask
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: tls-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [tlsdb]}}
"""


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory, server_cache: Path
                 ) -> Iterator[MariaDB]:
    server = MariaDB(tmp_path_factory.mktemp("tls-up"), server_id=41, tls_only=True)
    server.start(server_cache)
    server.execute("CREATE USER 'certified'@'%' REQUIRE X509",
                   "GRANT ALL PRIVILEGES ON *.* TO 'certified'@'%'")
    try:
        yield server
    finally:
        server.stop()


def _certified(server: MariaDB, **ssl: str) -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=server.port, user="certified",
                           ssl={"ca": str(server.tls_cert), "check_hostname": False, **ssl})


def test_the_user_needs_its_certificate(tls_upstream: MariaDB) -> None:
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        _certified(tls_upstream).close()
    _certified(tls_upstream, cert=str(tls_upstream.tls_cert),
               key=str(tls_upstream.tls_key)).close()


def test_all_mode_over_tls(cluster: DMProcesses, tls_upstream: MariaDB, downstream: MariaDB,
                           tmp_path: Path) -> None:
    tls_upstream.execute(
        "CREATE DATABASE tlsdb", "CREATE TABLE tlsdb.t (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO tlsdb.t VALUES (1, 'dumped'), (2, 'dumped')")
    downstream.execute("DROP DATABASE IF EXISTS tlsdb")
    src = source_yaml(tmp_path / "s.yaml", "tls-src", tls_upstream)
    src.write_text(src.read_text().replace("user: root", "user: certified")
                   + f"  security:\n    ssl-ca: {tls_upstream.tls_cert}\n"
                   f"    ssl-cert: {tls_upstream.tls_cert}\n    ssl-key: {tls_upstream.tls_key}\n")
    assert cluster.dmctl("operate-source", "create", str(src))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    assert cluster.dmctl("start-task", str(task))["result"]
    wait_stage(cluster, "tlstask", "Running")
    tls_upstream.execute("INSERT INTO tlsdb.t VALUES (3, 'replicated')",
                         "UPDATE tlsdb.t SET v = 'changed' WHERE id = 1",
                         "DELETE FROM tlsdb.t WHERE id = 2")
    expected = table_rows(tls_upstream.connect(), "tlsdb", "t")
    assert expected == [(1, "changed"), (3, "replicated")]
    for _ in range(200):
        try:
            if table_rows(downstream.connect(), "tlsdb", "t") == expected:
                break
        except pymysql.err.ProgrammingError:  # not loaded yet
            pass
        wait_stage(cluster, "tlstask", "Running", timeout=1)
    else:
        raise AssertionError("the TLS upstream's changes never arrived")
    status = wait_stage(cluster, "tlstask", "Running")
    assert status["sources"][0]["subTaskStatus"][0]["unit"] == "Sync"
    assert cluster.dmctl("stop-task", "tlstask")["result"]
    assert cluster.dmctl("operate-source", "stop", "tls-src")["result"]


def _inline_source(path: Path, server: MariaDB, allowed_cn: str) -> Path:
    """The source with its TLS material inline (`ssl-*-bytes`), as DM's OpenAPI stores it."""
    def block(key: str, pem: Path) -> str:
        body = "".join(f"      {line}\n" for line in pem.read_text().splitlines())
        return f"    {key}: |\n{body}"
    src = source_yaml(path, "tls-inline", server)
    src.write_text(src.read_text().replace("user: root", "user: certified")
                   + "  security:\n" + block("ssl-ca-bytes", server.tls_cert)
                   + block("ssl-cert-bytes", server.tls_cert)
                   + block("ssl-key-bytes", server.tls_key)
                   + f"    cert-allowed-cn: [{allowed_cn}]\n")
    return src


def test_inline_certificates_and_the_allowed_common_names(
        cluster: DMProcesses, tls_upstream: MariaDB, downstream: MariaDB,
        tmp_path: Path) -> None:
    tls_upstream.execute("DROP DATABASE IF EXISTS tlsinline", "CREATE DATABASE tlsinline",
                         "CREATE TABLE tlsinline.t (id INT PRIMARY KEY)",
                         "INSERT INTO tlsinline.t VALUES (1)")
    downstream.execute("DROP DATABASE IF EXISTS tlsinline")
    refused = cluster.dmctl("operate-source", "create", str(
        _inline_source(tmp_path / "bad.yaml", tls_upstream, "someone-else")), check=False)
    assert not refused["result"] and "11112" in str(refused), refused  # the sandbox's CN
    assert "pydm-sandbox" in str(refused)
    assert cluster.dmctl("operate-source", "create", str(
        _inline_source(tmp_path / "s.yaml", tls_upstream, "pydm-sandbox")))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port).replace("tlstask", "tlsinline")
                    .replace("tls-src", "tls-inline").replace("tlsdb", "tlsinline"))
    with removed_afterwards(cluster, "tlsinline", "tls-inline"):
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, "tlsinline", "Running")
        tls_upstream.execute("INSERT INTO tlsinline.t VALUES (2)")  # through the binlog
        wait_equal(tls_upstream, downstream, "tlsinline", ("t",))


def test_without_security_the_connection_is_plain_as_dms(tls_upstream: MariaDB) -> None:
    """No `security` block: no TLS, as DM's driver (PyMySQL would try TLS by itself, and
    build a TLS context for every connection). A server that requires TLS refuses it."""
    with pytest.raises(errors.DMError, match="code=10005"):
        connect(Endpoint("127.0.0.1", tls_upstream.port, "root", ""))
