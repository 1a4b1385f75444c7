"""dm-master and dm-worker TOML keys and flags pydm does not act on yet are refused (20090),
naming the file, line and key; the etcd keys reach the etcd member."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm import errors
from dm.master.config import load_master_config
from dm.worker.config import load_worker_config


@pytest.mark.parametrize(("text", "line", "key"), [
    ('name = "m1"\nssl-ca = "/ca.pem"\n', 2, "ssl-ca"),
    ('ssl-cert = "/c.pem"\n', 1, "ssl-cert"),
    ('\nssl-key = "/k.pem"\n', 2, "ssl-key"),
    ('cert-allowed-cn = ["dm"]\n', 1, "cert-allowed-cn"),
    ('log-rotate = "daily"\n', 1, "log-rotate"),
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


@pytest.mark.parametrize(("text", "key"), [
    ('ssl-ca = "/ca.pem"\n', "ssl-ca"),
])
def test_worker_key_is_refused(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "dm-worker.toml"
    path.write_text('join = "127.0.0.1:8261"\n' + text)
    with pytest.raises(errors.DMError) as info:
        load_worker_config(str(path), {})
    assert info.value.code == errors.CONFIG_NOT_SUPPORTED.code
    assert info.value.message.startswith(f"{path}:2: {key}: "), info.value.message


def test_a_refused_flag_is_named_as_a_flag() -> None:
    with pytest.raises(errors.DMError) as info:
        load_worker_config(None, {"join": "127.0.0.1:8261", "ssl_ca": "/ca.pem"})
    assert info.value.message.startswith("command line:-: --ssl-ca: ")


def test_defaults_and_etcd_keys_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "dm-master.toml"
    path.write_text('quota-backend-bytes = 4294967296\nmax-txn-ops = 4096\n'
                    'auto-compaction-retention = "2h"\nrpc-timeout = "30s"\n')
    cfg = load_master_config(str(path), {})
    assert (cfg.quota_backend_bytes, cfg.max_txn_ops, cfg.auto_compaction_retention) == (
        4294967296, 4096, "2h")
    worker = load_worker_config(None, {"join": "127.0.0.1:8261", "relay_dir": "/r",
                                       "relay_keepalive_ttl": 60})
    assert (worker.relay_dir, worker.relay_keepalive_ttl) == ("/r", 60)  # docs/relay.md
