"""The etcd member each dm-master runs as its child process (Debian's /usr/bin/etcd).

The member lives and dies with its dm-master, as DM's embedded etcd does: the kernel kills
it when the master process ends in any way (kill -9 included), and the master ends when
its member does, so a cluster never keeps a member whose master is gone.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from dm import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EtcdMember:
    name: str
    data_dir: Path
    client_urls: str
    peer_urls: str
    advertise_peer_urls: str
    initial_cluster: str
    initial_cluster_state: str = "new"
    # DM's dm-master TOML keys that configure its embedded etcd, passed to the member
    auto_compaction_mode: str = "periodic"
    auto_compaction_retention: str = "1h"
    quota_backend_bytes: int = 2 << 30
    max_txn_ops: int = 2048
    max_request_bytes: int = 1572864
    tls_args: tuple[str, ...] = ()  # etcd's TLS flags (dm.clustertls)


class EtcdProcess:
    def __init__(self, member: EtcdMember, log_path: Path) -> None:
        self.member = member
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def endpoint(self) -> str:
        url = urlparse(self.member.client_urls.split(",")[0])
        return f"{url.hostname}:{url.port}"

    async def start(self) -> None:
        binary = shutil.which("etcd") or "/usr/bin/etcd"
        m = self.member
        m.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                binary, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_urls, "--advertise-client-urls", m.client_urls,
                "--listen-peer-urls", m.peer_urls, "--initial-advertise-peer-urls",
                m.advertise_peer_urls, "--initial-cluster", m.initial_cluster,
                "--initial-cluster-state", m.initial_cluster_state,
                "--auto-compaction-mode", m.auto_compaction_mode,
                "--auto-compaction-retention", m.auto_compaction_retention,
                "--quota-backend-bytes", str(m.quota_backend_bytes),
                "--max-txn-ops", str(m.max_txn_ops),
                "--max-request-bytes", str(m.max_request_bytes), *m.tls_args,
                stdout=out, stderr=out, start_new_session=True,
                preexec_fn=_dies_with(os.getpid()))
        for _ in range(300):
            if self.proc.returncode is not None:
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise errors.MASTER_ETCD(tail, op=f"start etcd (log {self.log_path})")
            if _port_open(self.endpoint):
                return
            await asyncio.sleep(0.1)
        raise errors.MASTER_ETCD("no answer after 30 s", op=f"start etcd ({self.log_path})")

    async def exited(self) -> int:
        """Wait until the member process ends; its exit status."""
        assert self.proc is not None, "start() first"
        return await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


_PR_SET_PDEATHSIG = 1


def _dies_with(parent: int) -> Callable[[], None]:
    """A pre-exec hook: the child gets SIGKILL when `parent` ends (Linux prctl), and
    ends at once if the parent already ended before the hook ran."""
    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or \
                os.getppid() != parent:
            os._exit(1)
    return hook


def _port_open(endpoint: str) -> bool:
    host, _, port = endpoint.rpartition(":")
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host or "127.0.0.1", int(port))) == 0
