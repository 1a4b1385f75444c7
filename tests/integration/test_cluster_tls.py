"""TLS on every link (DM §13.2): two dm-masters (etcd peers and clients over TLS), a
dm-worker and dmctl with certificates made by openssl, `cert-allowed-cn` set, an upstream
and a downstream whose users must show a client certificate (REQUIRE X509); a task
replicates end to end, and every plain, unauthenticated or wrongly named access is
refused."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dm.clustertls import ClusterTLS
from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import BIN_DIR, source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

DB = "tlsall"
TASK = """\
name: tlsall
task-mode: all
target-database:
  host: 127.0.0.1
  port: {port}
  user: certified
  password: ""
  security: {{ssl-ca: {ca}, ssl-cert: {ca}, ssl-key: {key}}}
mysql-instances:
  - source-id: tlsall-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [tlsall]}}
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(d: Path) -> dict[str, Path]:
    """A CA; certificates it signs for the cluster (CN dm-cluster) and an intruder (CN
    intruder), both for 127.0.0.1; and a cluster-named certificate of another CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=pydm-test-ca", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth,clientAuth\n")
    for name, cn in (("cluster", "dm-cluster"), ("intruder", "intruder")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "ext.cnf",
                 cwd=d)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
             "other.pem", "-days", "2", "-subj", "/CN=dm-cluster", "-addext",
             "subjectAltName=IP:127.0.0.1", cwd=d)
    return {p.stem + p.suffix: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory, certs: dict[str, Path]
                ) -> Iterator[DMProcesses]:
    dm = DMProcesses(tmp_path_factory.mktemp("dm-tls"), BIN_DIR,
                     tls=ClusterTLS(str(certs["ca.pem"]), str(certs["cluster.pem"]),
                                    str(certs["cluster.key"])),
                     process_config='cert-allowed-cn = ["dm-cluster"]\n')
    try:
        dm.start_masters(2)
        dm.start_worker("worker1")
        yield dm
    finally:
        dm.stop()


def _tls_server(tmp: pytest.TempPathFactory, cache: Path, name: str, server_id: int
                ) -> Iterator[MariaDB]:
    server = MariaDB(tmp.mktemp(name), server_id=server_id, tls_only=True)
    server.start(cache)
    server.execute("CREATE USER 'certified'@'%' REQUIRE X509",
                   "GRANT ALL PRIVILEGES ON *.* TO 'certified'@'%'")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_up(tmp_path_factory: pytest.TempPathFactory, server_cache: Path) -> Iterator[MariaDB]:
    yield from _tls_server(tmp_path_factory, server_cache, "tls-up2", 43)


@pytest.fixture(scope="module")
def tls_down(tmp_path_factory: pytest.TempPathFactory, server_cache: Path
             ) -> Iterator[MariaDB]:
    yield from _tls_server(tmp_path_factory, server_cache, "tls-down2", 44)


def _get(url: str, context: ssl.SSLContext | None = None) -> int:
    """The HTTP status of a GET (raises when the connection is refused or torn down)."""
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _refused(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        _get(url, context)
    except (OSError, http.client.HTTPException):
        return True
    return False


def _context(certs: dict[str, Path], cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs["ca.pem"]))
    if cert is not None:
        context.load_cert_chain(str(certs[f"{cert}.pem"]), str(certs[f"{cert}.key"]))
    return context


def test_a_task_replicates_over_tls_everywhere_and_plain_access_is_refused(
        tls_cluster: DMProcesses, tls_up: MariaDB, tls_down: MariaDB,
        certs: dict[str, Path], tmp_path: Path) -> None:
    dm = tls_cluster
    tls_up.execute(f"CREATE DATABASE {DB}",
                   f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v VARCHAR(20))",
                   f"INSERT INTO {DB}.t VALUES (1, 'before the task')")
    source = source_yaml(tmp_path / "source.yaml", "tlsall-src", tls_up).read_text()
    source = source.replace("user: root", "user: certified") + (
        f"  security: {{ssl-ca: {tls_up.tls_cert}, ssl-cert: {tls_up.tls_cert}, "
        f"ssl-key: {tls_up.tls_key}}}\n")
    (tmp_path / "source.yaml").write_text(source)
    assert dm.dmctl("operate-source", "create", str(tmp_path / "source.yaml"))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=tls_down.port, ca=tls_down.tls_cert, key=tls_down.tls_key))
    assert dm.dmctl("start-task", str(task))["result"]
    wait_stage(dm, DB, "Running", unit="Sync")
    tls_up.execute(f"INSERT INTO {DB}.t VALUES (2, 'after')",
                   f"UPDATE {DB}.t SET v = 'changed' WHERE id = 1")
    wait_equal(tls_up, tls_down, DB, ("t",))

    master = dm.master_addr
    worker = f"127.0.0.1:{dm.worker_ports['worker1']}"
    cluster, intruder = _context(certs, "cluster"), _context(certs, "intruder")
    for address in (master, worker):
        assert _get(f"https://{address}/status", cluster) == 200
        assert _refused(f"http://{address}/status")  # plain HTTP
        assert _refused(f"https://{address}/status", _context(certs, None))  # no cert
        assert _get(f"https://{address}/status", intruder) == 403  # cert-allowed-cn
        other = ssl.create_default_context(cafile=str(certs["ca.pem"]))
        other.load_cert_chain(str(certs["other.pem"]), str(certs["other.key"]))
        assert _refused(f"https://{address}/status", other)  # a CA the cluster does not trust
    assert b"dm_worker_task_state" in urllib.request.urlopen(
        f"https://{worker}/metrics", context=cluster, timeout=5).read()

    # dmctl without its certificate cannot reach the master
    plain = subprocess.run([str(BIN_DIR / "dmctl"), "--master-addr", master, "query-status"],
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and json.loads(plain.stdout)["result"] is False
    assert "code=48001" in plain.stdout

    # etcd: TLS on its client URL, a client certificate required
    with urllib.request.urlopen(f"https://{master}/api/v1/cluster/etcd", context=cluster,
                                timeout=5) as resp:
        etcd = json.loads(resp.read())["endpoints"][0].split("://")[-1]
    assert _get(f"https://{etcd}/version", cluster) == 200
    assert _refused(f"http://{etcd}/version")
    assert _refused(f"https://{etcd}/version", _context(certs, None))

    # a follower forwards a command to the leader over TLS
    follower = next(f"127.0.0.1:{p}" for n, p in dm.master_ports.items()
                    if n != dm.leader())
    request = urllib.request.Request(f"https://{follower}/dmctl/query-status",
                                     data=json.dumps({"task": DB}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=cluster, timeout=30) as resp:
        assert json.loads(resp.read())["result"] is True
    assert dm.dmctl("stop-task", DB)["result"]
    assert dm.dmctl("operate-source", "stop", "tlsall-src")["result"]
