"""dm-worker's configuration: DM's flags and TOML keys (an unknown TOML key is an error)."""

from __future__ import annotations

import socket
from typing import Any

from pydantic import BaseModel, ConfigDict

from dm import errors
from dm.clustertls import ClusterTLS
from dm.tomlconfig import (
    LOG_ROTATION,
    advertised,
    kebab,
    listen_address,
    load_process_config,
)


class WorkerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=kebab, populate_by_name=True)

    name: str = ""
    worker_addr: str = ":8262"
    advertise_addr: str = ""
    join: str = ""
    keepalive_ttl: int = 60
    relay_keepalive_ttl: int = 1800
    relay_dir: str = ""  # set: relays go to <relay-dir>/<name>/<source-id>, not the source's
    log_level: str = "info"
    log_file: str = ""
    log_format: str = "text"
    log_rotate: str = ""
    ssl_ca: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    cert_allowed_cn: list[str] = []

    def tls(self) -> ClusterTLS:
        return ClusterTLS(self.ssl_ca, self.ssl_cert, self.ssl_key, tuple(self.cert_allowed_cn))

    def adjusted(self) -> WorkerConfig:
        cfg = self.model_copy()
        cfg.name = cfg.name or f"dm-worker-{socket.gethostname()}"
        cfg.advertise_addr = advertised(cfg.worker_addr, cfg.advertise_addr)
        if not cfg.join:
            raise errors.WORKER_START(name=cfg.name,
                                      detail="--join (the dm-master address) is required")
        problem = cfg.tls().problem()
        if problem is not None:
            raise errors.WORKER_START(name=cfg.name, detail=problem)
        return cfg

    @property
    def listen(self) -> tuple[str, int]:
        return listen_address(self.worker_addr)


# keys DM has that pydm does not act on yet: refused when set (dm.config.unsupported)
_UNSUPPORTED = LOG_ROTATION


def load_worker_config(path: str | None, flags: dict[str, Any]) -> WorkerConfig:
    return load_process_config(WorkerConfig, path, flags, _UNSUPPORTED).adjusted()
