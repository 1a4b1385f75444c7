"""Throwaway local servers (mariadbd, etcd) for the demo, the tests and the benchmarks.

Each server lives in its own directory, listens on 127.0.0.1 at a free port and
is stopped by PID. Nothing here is used by dm-master or dm-worker themselves.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from dm.clustertls import ClusterTLS
from dm.sync.reader import READER_NAME

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (all held open while chosen, so none repeats)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                   for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def stop_pid(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


_TEMPLATE_LOCK = "template.lock"


def _template_dir(cache: Path) -> Path:
    """An initialised, never-started datadir that each server copies (0.02 s vs 1-2 s)."""
    tpl = cache / "mariadb-template"
    if (tpl / "mysql").is_dir():
        return tpl
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f"mariadb-template.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    scratch = cache / f"mariadb-template-tmp.{os.getpid()}"  # see MariaDB.start's --tmpdir
    scratch.mkdir(exist_ok=True)
    subprocess.run(
        [INSTALL_DB, "--no-defaults", f"--datadir={tmp}", "--user=root",
         "--auth-root-authentication-method=normal", "--skip-test-db",
         "--innodb-log-file-size=16M", f"--tmpdir={scratch}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        tmp.rename(tpl)
    except OSError:  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return tpl


def child_pids(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _self_signed(cert_path: Path, key_path: Path) -> None:
    """A throwaway certificate for a TLS-only sandbox server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pydm-sandbox")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _peak_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmHWM:")), 0)


@dataclass
class MariaDB:
    """One mariadbd with ROW binlog (unless `log_bin=False`) on a free TCP port."""

    base: Path
    server_id: int
    log_bin: bool = True
    extra_args: list[str] = field(default_factory=list)
    tls_only: bool = False  # TLS with a self-signed certificate, require_secure_transport=ON
    server_charset: bool = False  # keep the server's own default charset (latin1 on 10.11)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket(self) -> str:
        return str(self.base / "mysqld.sock")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, cache: Path | None = None) -> MariaDB:
        if not self.datadir.exists():
            tpl = _template_dir(cache or self.base.parent / ".cache")
            shutil.copytree(tpl, self.datadir)
        self.port = self.port or free_port()
        args = [
            MARIADBD, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
            f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.socket}",
            f"--server-id={self.server_id}", f"--pid-file={self.base / 'mysqld.pid'}",
            f"--log-error={self.base / 'error.log'}", "--innodb-log-file-size=16M",
            "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2",
            "--max-allowed-packet=256M", "--local-infile=1", "--skip-name-resolve",
            "--max-connections=500", "--performance-schema=OFF",
            # its own tmpdir: a starting mariadbd deletes every `#sql*` file in its tmpdir,
            # which in a shared /tmp includes the live temporary tables of other servers
            f"--tmpdir={self.base / 'tmp'}",
        ]
        if not self.server_charset:
            args += ["--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"]
        if self.log_bin:
            args += [f"--log-bin={self.base / 'binlog'}", "--binlog-format=ROW",
                     "--binlog-row-image=FULL", "--sync-binlog=0"]
        if self.tls_only:
            args += [f"--ssl-cert={self.tls_cert}", f"--ssl-key={self.tls_key}",
                     f"--ssl-ca={self.tls_cert}", "--require-secure-transport=ON"]
        args += self.extra_args
        (self.base / "tmp").mkdir(parents=True, exist_ok=True)
        if self.tls_only and not self.tls_cert.exists():
            _self_signed(self.tls_cert, self.tls_key)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(self._ready, 60, f"mariadbd on port {self.port}")
        except TimeoutError:
            self.stop()
            log = (self.base / "error.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mariadbd failed to start:\n{log}") from None
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError((self.base / "error.log").read_text(errors="replace")[-2000:])
        try:
            self.connect().close()
        except pymysql.err.OperationalError:
            return False
        return True

    @property
    def tls_cert(self) -> Path:
        """The server's self-signed certificate: also the CA to trust, and a client
        certificate the server accepts (for users created `REQUIRE X509`)."""
        return self.base / "tls-cert.pem"

    @property
    def tls_key(self) -> Path:
        return self.base / "tls-key.pem"

    def connect(self, database: str | None = None, **kw: object) -> pymysql.Connection:
        if self.tls_only:
            kw.setdefault("ssl", {"ca": str(self.tls_cert), "check_hostname": False})
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="",
                               database=database, charset="utf8mb4", autocommit=True,
                               **kw)

    def execute(self, *statements: str) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Etcd:
    """A single-member etcd on free ports, for tests of the store layer."""

    base: Path
    client_port: int = 0
    peer_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self) -> Etcd:
        self.client_port = self.client_port or free_port()
        self.peer_port = self.peer_port or free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.base / "etcd.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [ETCD, "--name", "sandbox", "--data-dir", str(self.base / "data"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"sandbox={peer}"],
            stdout=log, stderr=log,
        )
        log.close()
        wait_for(lambda: _port_open(self.client_port), 30, f"etcd on {self.endpoint}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class DMProcesses:
    """dm-masters and dm-workers as real processes, driven through real dmctl."""

    base: Path
    bin_dir: Path
    master_port: int = 0  # the first master's
    masters: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    master_ports: dict[str, int] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_ports: dict[str, int] = field(default_factory=dict)
    _master_args: dict[str, list[str]] = field(default_factory=dict)
    # cluster TLS: every master, worker and dmctl call uses these files (and masters and
    # workers the TOML `process_config`, e.g. `cert-allowed-cn`)
    tls: ClusterTLS = field(default_factory=ClusterTLS)
    process_config: str = ""
    master_config: str = ""  # TOML for masters only, after `process_config`

    def _tls_args(self, program: str) -> list[str]:
        tls = self.tls
        args = ["--ssl-ca", tls.ca, "--ssl-cert", tls.cert, "--ssl-key", tls.key] \
            if tls.enabled else []
        config = self.process_config + (self.master_config if program == "dm-master" else "")
        if config:
            path = self.base / f"{program}.toml"
            path.write_text(config)
            args += ["--config", str(path)]
        return args

    @property
    def master_addr(self) -> str:
        """The first master's address (the one workers join through by default)."""
        return f"127.0.0.1:{self.master_port}"

    @property
    def master_addrs(self) -> str:
        """Every master's address, comma separated, as dmctl takes them."""
        ports = list(self.master_ports.values()) or [self.master_port]
        return ",".join(f"127.0.0.1:{p}" for p in ports)

    def start_master(self) -> DMProcesses:
        return self.start_masters(1)

    def start_masters(self, count: int) -> DMProcesses:
        """`count` masters (master1, master2, ...) bootstrapping one etcd cluster through
        --initial-cluster; the first keeps `master_port` if one was chosen."""
        names = [f"master{i}" for i in range(1, count + 1)]
        ports = iter(free_ports(3 * count))  # master, peer and client port of each
        peers = {n: next(ports) for n in names}
        scheme = self.tls.scheme
        initial = ",".join(f"{n}={scheme}://127.0.0.1:{peers[n]}" for n in names)
        for name in names:
            port = self.master_ports[name] = next(ports)
            if name == "master1":
                port = self.master_ports[name] = self.master_port or port
                self.master_port = port
            mdir = self.base / ("master" if name == "master1" else name)
            mdir.mkdir(parents=True, exist_ok=True)
            self._master_args[name] = [
                "--name", name, "--master-addr", f"127.0.0.1:{port}",
                "--peer-urls", f"{scheme}://127.0.0.1:{peers[name]}",
                "--etcd-client-urls", f"{scheme}://127.0.0.1:{next(ports)}",
                "--initial-cluster", initial, *self._tls_args("dm-master"),
                "--data-dir", str(mdir / "data"), "--log-file", str(mdir / "master.log")]
            self.restart_master(name, wait=False)
        for name in names:
            self._wait_master(name)
        return self

    def etcd_url(self, name: str = "master1") -> str:
        """The client URL of master `name`'s etcd member."""
        args = self._master_args[name]
        return args[args.index("--etcd-client-urls") + 1]

    def restart_master(self, name: str, wait: bool = True) -> None:
        """Start master `name` (again) with the flags and data directory it had."""
        mdir = Path(self._master_args[name][-1]).parent
        self.masters[name] = self._spawn(mdir, "dm-master", *self._master_args[name])
        if wait:
            self._wait_master(name)

    def _wait_master(self, name: str) -> None:
        proc, port = self.masters[name], self.master_ports[name]
        wait_for(lambda: self.answers(port, "/status", proc), 60, f"dm-master {name}")

    def kill_master(self, name: str) -> None:
        """kill -9 of master `name`; its etcd member must die with it."""
        self._kill(self.masters.pop(name), f"master {name}")

    def bound(self) -> dict[str, str]:
        """source → the worker bound to it, as `list-member --worker` shows them."""
        workers = self.dmctl("list-member", "--worker")["members"][0]["worker"]["workers"]
        return {w["source"]: w["name"] for w in workers if w["stage"] == "bound"}

    def leader(self) -> str:
        """The name of the master that leads now, asked of any live master ("" if none)."""
        answer = self.dmctl("list-member", "--leader", check=False)
        return str(answer.get("members", [{}])[0].get("leader", {}).get("name", ""))

    def start_worker(self, name: str, keepalive_ttl: int = 5, join: str = "",
                     relay_keepalive_ttl: int | None = None) -> subprocess.Popen[bytes]:
        """`relay_keepalive_ttl`: the lease while it relays (default: `keepalive_ttl`, not
        DM's 30 minutes, so that tests killing a relay worker see it go)."""
        port = self.worker_ports.setdefault(name, free_port())
        wdir = self.base / name
        wdir.mkdir(parents=True, exist_ok=True)
        proc = self._spawn(wdir, "dm-worker", "--name", name,
                           "--worker-addr", f"127.0.0.1:{port}",
                           "--join", join or self.master_addr,
                           "--keepalive-ttl", str(keepalive_ttl),
                           "--relay-keepalive-ttl", str(relay_keepalive_ttl or keepalive_ttl),
                           *self._tls_args("dm-worker"),
                           "--log-file", str(wdir / "worker.log"))
        self.workers[name] = proc
        wait_for(lambda: self.answers(port, "/status", proc), 60, f"dm-worker {name}")
        return proc

    def _spawn(self, cwd: Path, program: str, *args: str) -> subprocess.Popen[bytes]:
        out = open(cwd / f"{program}.stderr", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen([str(self.bin_dir / program), *args], cwd=cwd,
                                stdout=out, stderr=out)
        out.close()
        return proc

    def answers(self, port: int, path: str, proc: subprocess.Popen[bytes]) -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(self.tls.url(f"127.0.0.1:{port}", path), timeout=1,
                                        context=self.tls.client_context()):
                return True
        except OSError:
            return False

    def run_dmctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        tls = ["--ssl-ca", self.tls.ca, "--ssl-cert", self.tls.cert, "--ssl-key",
               self.tls.key] if self.tls.enabled else []
        return subprocess.run([str(self.bin_dir / "dmctl"), "--master-addr", self.master_addrs,
                               *tls, *args], capture_output=True, text=True, timeout=600)

    def dmctl(self, *args: str, check: bool = True) -> dict[str, Any]:
        """Run the real dmctl; return its JSON answer (and its exit status as `_exit`)."""
        proc = self.run_dmctl(*args)
        try:
            answer: dict[str, Any] = json.loads(proc.stdout)
        except ValueError:
            raise RuntimeError(f"dmctl {' '.join(args)} printed no JSON:\n{proc.stdout}\n"
                               f"{proc.stderr}") from None
        if check and proc.returncode != 0:
            raise RuntimeError(f"dmctl {' '.join(args)} failed:\n{proc.stdout}")
        answer["_exit"] = proc.returncode
        return answer

    def api(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """The master's dmctl endpoint directly: fast enough to poll tightly."""
        request = urllib.request.Request(
            self.tls.url(self.master_addr, f"/dmctl/{command}"),
            data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60,
                                    context=self.tls.client_context()) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
        return answer

    def peak_rss_mb(self, worker: str) -> float:
        """Peak resident memory (VmHWM) of the worker plus its live child processes (the
        binlog reader of each running sync unit, and the one started ahead)."""
        pid = self.workers[worker].pid
        children = [p for p in child_pids(pid) if _alive(p)]
        return sum(_peak_rss_kb(p) for p in [pid, *children]) / 1024

    def child_pids(self, worker: str) -> list[int]:
        """The worker's binlog readers: one per running sync unit (not the one it keeps
        started ahead)."""
        return [p for p in child_pids(self.workers[worker].pid) if _alive(p)
                and _comm(p) == READER_NAME.decode()]

    def create_source(self, source: MariaDB, source_id: str) -> None:
        """Register `source` and wait until a worker is bound to it (bench helper)."""
        src = self.base / f"{source_id}.yaml"
        src.write_text(f"source-id: {source_id}\nfrom: {{host: 127.0.0.1, "
                       f"port: {source.port}, user: root}}\n")
        self.dmctl("operate-source", "create", str(src))
        wait_for(lambda: source_id in self.bound(), 60, f"a worker bound to {source_id}")

    def start_task(self, task_yaml: str) -> None:
        """Start the task described by `task_yaml` (bench helper)."""
        task = self.base / "task.yaml"
        task.write_text(task_yaml)
        self.dmctl("start-task", str(task))

    def kill_worker(self, name: str) -> None:
        """kill -9 the worker; its child processes (binlog readers) must die with it."""
        self._kill(self.workers.pop(name), f"worker {name}")

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes], what: str) -> None:
        children = child_pids(proc.pid)
        proc.kill()
        proc.wait(10)
        wait_for(lambda: not any(map(_alive, children)), 10,
                 f"the child processes {children} of killed {what} to exit")

    def stop(self) -> None:
        for proc in self.workers.values():
            stop_pid(proc)
        self.workers.clear()
        for proc in self.masters.values():  # all at once: none waits on a lost quorum
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.masters.values():
            stop_pid(proc)
        self.masters.clear()


def table_rows(conn: pymysql.Connection, schema: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, in a canonical order, for row-by-row comparison."""
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (schema, table))
        ncols = int(cur.fetchone()[0])
        order = ", ".join(str(i) for i in range(1, ncols + 1))
        name = "`" + schema.replace("`", "``") + "`.`" + table.replace("`", "``") + "`"
        cur.execute(f"SELECT * FROM {name} ORDER BY {order}")
        return [tuple(r) for r in cur.fetchall()]


class TcpProxy:
    """A TCP forwarder on a free port of 127.0.0.1, standing in for DM's virtual IP in
    front of a primary and its replica: `switch(port)` drops every connection and sends
    new ones to another server."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def switch(self, target: int) -> None:
        with self._lock:
            self.target = target
        self._drop_connections()

    def close(self) -> None:
        self._server.close()
        self._drop_connections()

    def _drop_connections(self) -> None:
        with self._lock:
            doomed, self._open = self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                target = self.target
            try:
                upstream = socket.create_connection(("127.0.0.1", target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(1 << 16):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
