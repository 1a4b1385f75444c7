"""dm-master's configuration: DM's flags and TOML keys (an unknown TOML key is an error)."""

from __future__ import annotations

import socket
from typing import Any

from pydantic import BaseModel, ConfigDict

from dm import errors
from dm.clustertls import ClusterTLS, with_scheme
from dm.tomlconfig import (
    LOG_ROTATION,
    advertised,
    kebab,
    listen_address,
    load_process_config,
)


class MasterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=kebab, populate_by_name=True)

    name: str = ""
    master_addr: str = ":8261"
    advertise_addr: str = ""
    data_dir: str = ""
    peer_urls: str = "http://127.0.0.1:8291"
    advertise_peer_urls: str = ""
    initial_cluster: str = ""
    initial_cluster_state: str = "new"
    join: str = ""
    # pydm: etcd's client URL (DM multiplexes it on master-addr); default peer port + 1.
    etcd_client_urls: str = ""
    log_level: str = "info"
    log_file: str = ""
    log_format: str = "text"
    log_rotate: str = ""
    rpc_timeout: str = "30s"
    rpc_rate_limit: float = 10.0
    rpc_rate_burst: int = 40
    auto_compaction_mode: str = "periodic"
    auto_compaction_retention: str = "1h"
    quota_backend_bytes: int = 2 << 30
    max_txn_ops: int = 2048
    max_request_bytes: int = 1572864
    ssl_ca: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    cert_allowed_cn: list[str] = []

    def tls(self) -> ClusterTLS:
        return ClusterTLS(self.ssl_ca, self.ssl_cert, self.ssl_key, tuple(self.cert_allowed_cn))
    v1_sources_path: str = ""
    openapi: bool = False

    def adjusted(self) -> MasterConfig:
        """Fill DM's derived defaults and check what must hold."""
        cfg = self.model_copy()
        cfg.name = cfg.name or f"dm-master-{socket.gethostname()}"
        cfg.advertise_addr = advertised(cfg.master_addr, cfg.advertise_addr)
        cfg.data_dir = cfg.data_dir or f"default.{cfg.name}"
        cfg.advertise_peer_urls = cfg.advertise_peer_urls or cfg.peer_urls
        cfg.initial_cluster = cfg.initial_cluster or f"{cfg.name}={cfg.advertise_peer_urls}"
        if not cfg.etcd_client_urls:
            scheme, _, rest = cfg.peer_urls.split(",")[0].partition("://")
            host, _, port = rest.rpartition(":")
            cfg.etcd_client_urls = f"{scheme}://{host}:{int(port) + 1}"
        tls = cfg.tls()
        problem = tls.problem()
        if problem is not None:
            raise errors.MASTER_START(name=cfg.name, detail=problem)
        for key in ("peer_urls", "advertise_peer_urls", "initial_cluster", "etcd_client_urls"):
            setattr(cfg, key, with_scheme(getattr(cfg, key), tls))
        return cfg

    @property
    def listen(self) -> tuple[str, int]:
        return listen_address(self.master_addr)


# keys DM has that pydm does not act on yet: refused when set (dm.config.unsupported)
_UNSUPPORTED = {**LOG_ROTATION,
                **dict.fromkeys(("rpc-timeout", "rpc-rate-limit", "rpc-rate-burst"),
                                "limits on dm-master's calls to workers"),
                "v1-sources-path": "importing DM v1.0 sources"}


def load_master_config(path: str | None, flags: dict[str, Any]) -> MasterConfig:
    return load_process_config(MasterConfig, path, flags, _UNSUPPORTED).adjusted()
