"""dm-master and dm-worker TOML keys and flags pydm does not act on yet are refused (20090),
naming the file, line and key; the etcd keys reach the etcd member; the cluster TLS keys
are checked (test_cluster_tls.py runs a cluster with them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm import errors
from dm.master.config import load_master_config
from dm.worker.config import load_worker_config


@pytest.mark.parametrize(("text", "line", "key"), [
    ('name = "m1"\nlog-rotate = "daily"\n', 2, "log-rotate"),
    ('rpc-timeout = "10s"\n', 1, "rpc-timeout"),
    ('v1-sources-path = "/v1"\n', 1, "v1-sources-path"),
])
def test_master_key_is_refused(tmp_path: Path, text: str, line: int, key: str) -> None:
    path = tmp_path / "dm-master.toml"
    path.write_text(text)
    with pytest.raises(errors.DMError) as info:
        load_master_config(str(path), {})
    assert info.value.code == errors.CONFIG_NOT_SUPPORTED.code
    assert info.value.message.startswith(f"{path}:{line}: {key}: "), info.value.message


def test_a_refused_flag_is_named_as_a_flag() -> None:
    with pytest.raises(errors.DMError) as info:
        load_worker_config(None, {"join": "127.0.0.1:8261", "log_rotate": "daily"})
    assert info.value.message.startswith("command line:-: --log-rotate: ")


@pytest.mark.parametrize(("keys", "problem"), [
    ({"ssl_ca": "/nowhere/ca.pem"}, "ssl-cert, ssl-key must be set with the other ssl-* keys"),
    ({"ssl_ca": "/nowhere/ca.pem", "ssl_cert": "/c", "ssl_key": "/k"},
     "ssl-ca: /nowhere/ca.pem is not a readable file"),
    ({"cert_allowed_cn": ["dm"]}, "cert-allowed-cn needs ssl-ca, ssl-cert and ssl-key"),
])
def test_cluster_tls_keys_are_checked_at_start(keys: dict[str, object], problem: str) -> None:
    with pytest.raises(errors.DMError) as info:
        load_master_config(None, {"name": "m1", **keys})
    assert info.value.code == errors.MASTER_START.code and problem in info.value.message
    with pytest.raises(errors.DMError) as info:
        load_worker_config(None, {"join": "127.0.0.1:8261", **keys})
    assert info.value.code == errors.WORKER_START.code and problem in info.value.message


def test_defaults_and_etcd_keys_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "dm-master.toml"
    path.write_text('quota-backend-bytes = 4294967296\nmax-txn-ops = 4096\n'
                    'auto-compaction-retention = "2h"\nrpc-timeout = "30s"\nopenapi = true\n')
    cfg = load_master_config(str(path), {})
    assert cfg.openapi  # the OpenAPI and the web page (test_openapi.py)
    assert (cfg.quota_backend_bytes, cfg.max_txn_ops, cfg.auto_compaction_retention) == (
        4294967296, 4096, "2h")
    worker = load_worker_config(None, {"join": "127.0.0.1:8261", "relay_dir": "/r",
                                       "relay_keepalive_ttl": 60})
    assert (worker.relay_dir, worker.relay_keepalive_ttl) == ("/r", 60)  # docs/relay.md
