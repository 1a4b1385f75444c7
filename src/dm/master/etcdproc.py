"""The etcd member each dm-master runs as its child process (Debian's /usr/bin/etcd)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
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
                "--max-request-bytes", str(m.max_request_bytes),
                stdout=out, stderr=out, start_new_session=True)
        for _ in range(300):
            if self.proc.returncode is not None:
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise errors.MASTER_ETCD(tail, op=f"start etcd (log {self.log_path})")
            if _port_open(self.endpoint):
                return
            await asyncio.sleep(0.1)
        raise errors.MASTER_ETCD("no answer after 30 s", op=f"start etcd ({self.log_path})")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def _port_open(endpoint: str) -> bool:
    host, _, port = endpoint.rpartition(":")
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host or "127.0.0.1", int(port))) == 0
