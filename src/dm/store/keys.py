"""DM's etcd key layout: fixed prefixes, every key part hex-encoded and joined by '/'."""

from __future__ import annotations

LEADER = "/dm-master/leader/"
WORKER_REGISTER = "/dm-worker/r/"
WORKER_KEEPALIVE = "/dm-worker/a/"
SOURCE_CONFIG = "/dm-master/v2/upstream/config/"
BOUND_WORKER = "/dm-master/bound-worker/"
LAST_BOUND_WORKER = "/dm-master/last-bound-worker/"
SUBTASK_CONFIG = "/dm-master/upstream/subtask/"
SUBTASK_STAGE = "/dm-master/stage/subtask/"
TASK_CONFIG = "/dm-master/task/"
LOAD_TASK = "/dm-master/load-task/"
RELAY_STAGE = "/dm-master/v2/stage/relay/"
RELAY_WORKER = "/dm-master/relay-worker/"
BINLOG_OPERATOR = "/dm-master/binlog-operator/"  # pydm's: DM keeps them in the worker
MASTER_CONFIG = "/dm-master/config/"  # pydm's: each master's effective config (TOML)
WORKER_CONFIG = "/dm-worker/config/"  # pydm's: each worker's (DM asks the process)


def encode(*parts: str) -> str:
    return "/".join(p.encode().hex() for p in parts)


def decode(suffix: str) -> list[str]:
    return [bytes.fromhex(p).decode() for p in suffix.strip("/").split("/") if p]


def key(prefix: str, *parts: str) -> str:
    return prefix + encode(*parts)
