"""dm.config.source: source.yaml keys, defaults, refusals and secrets."""

from datetime import timedelta
from pathlib import Path

import pytest

from dm import errors
from dm.config import SourceConfig, load_source_config, parse_source_config
from dm.config.base import parse_size
from dm.config.duration import format_go_duration, parse_go_duration
from dm.config.encrypt import encrypt

MINIMAL = """\
source-id: mysql-replica-01
from:
  host: 127.0.0.1
"""

FULL = """\
source-id: mysql-replica-01
server-id: 101
flavor: mariadb
enable-gtid: true
auto-fix-gtid: true
enable-relay: true
relay-binlog-name: mariadb-bin.000003
relay-binlog-gtid: 0-1-100,1-2-5
relay-dir: ./relay_log
meta-dir: ./meta
charset: utf8mb4
case-sensitive: true
from:
  host: db1
  port: 3307
  user: dm
  password: /Q7B9DizNLLTTfiZHv9WoEAKamfpIUs=
  max-allowed-packet: 67108864
  session:
    sql_mode: ANSI_QUOTES
  security:
    ssl-ca: /ca.pem
    ssl-cert: /cert.pem
    ssl-key: /key.pem
    cert-allowed-cn: [dm]
purge:
  interval: 60
  expires: 24
  remain-space: 5
checker:
  check-enable: false
  backoff-rollback: 1m
  backoff-max: 10m
  check-interval: 10s
  backoff-min: 2s
  backoff-jitter: false
  backoff-factor: 3
filters:
  - schema-pattern: "db_*"
    table-pattern: "t?"
    events: ["TRUNCATE TABLE", "drop table"]
    sql-pattern: ["^DROP\\\\s+PROCEDURE"]
    action: Ignore
tracer:
  enable: false
"""


def test_defaults() -> None:
    cfg = parse_source_config(MINIMAL, "source.yaml")
    assert cfg.server_id == 0 and cfg.flavor == "" and not cfg.enable_gtid
    assert not cfg.enable_relay and cfg.relay_dir == "relay-dir" and cfg.meta_dir == ""
    assert cfg.from_.port == 3306 and cfg.from_.user == "" and cfg.from_.password == ""
    assert (cfg.purge.interval, cfg.purge.expires, cfg.purge.remain_space) == (3600, 0, 15)
    checker = cfg.checker
    assert checker.check_enable and checker.backoff_jitter and checker.backoff_factor == 2.0
    assert checker.backoff_rollback == checker.backoff_max == timedelta(minutes=5)
    assert checker.check_interval == timedelta(seconds=5)
    assert checker.backoff_min == timedelta(seconds=1)
    assert not cfg.case_sensitive and cfg.filters == [] and cfg.warnings == []


def test_every_key() -> None:
    cfg = parse_source_config(FULL, "source.yaml", accept_unsupported=True)
    assert cfg.server_id == 101 and cfg.flavor == "mariadb" and cfg.enable_gtid
    assert cfg.relay_binlog_name == "mariadb-bin.000003"
    assert cfg.from_.port == 3307 and cfg.from_.plain_password() == "123456"
    assert cfg.from_.security is not None and cfg.from_.security.cert_allowed_cn == ["dm"]
    assert cfg.checker.backoff_max == timedelta(minutes=10)
    assert cfg.checker.backoff_factor == 3.0
    assert cfg.filters[0].events == ["truncate table", "drop table"]
    assert cfg.filters[0].action == "Ignore"
    assert cfg.warnings == [
        "source.yaml:18: from.max-allowed-packet: deprecated and ignored",
        "source.yaml:44: tracer: deprecated and ignored",
    ]


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "source.yaml"
    path.write_text(MINIMAL)
    assert load_source_config(path).source_id == "mysql-replica-01"


def test_plain_password_and_session_text_kept() -> None:
    cfg = parse_source_config(
        MINIMAL + "  password: '0123'\n  session:\n    autocommit: off\n    time_zone: '+08:00'\n",
        "s.yaml",
    )
    assert cfg.from_.plain_password() == "0123"
    assert cfg.from_.session == {"autocommit": "off", "time_zone": "+08:00"}
    assert cfg.from_.session_vars() == {"autocommit": "off", "time_zone": "+00:00"}
    assert cfg.warnings == ["s.yaml:7: from.session.time_zone: overwritten with +00:00 (UTC)"]


def test_password_never_shown() -> None:
    cfg = parse_source_config(MINIMAL + "  password: hunter2\n", "s.yaml")
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg)
    assert cfg.from_.masked().password == "******"
    assert "hunter2" not in cfg.to_yaml() and "hunter2" not in cfg.to_yaml(secrets="mask")
    assert "password: '******'" in cfg.to_yaml(secrets="mask")


def test_to_yaml_round_trip() -> None:
    cfg = parse_source_config(FULL, "source.yaml", accept_unsupported=True)
    again = parse_source_config(cfg.to_yaml(), "dumped.yaml", accept_unsupported=True)
    assert again.from_.plain_password() == "123456"
    assert again.model_dump(exclude={"from_"}) == cfg.model_dump(exclude={"from_"})
    assert "backoff-max: 10m0s" in cfg.to_yaml()


REFUSALS = [
    # (extra/replacement yaml, code, line, text)
    (
        "source-id: ''\nfrom: {host: h}\n",
        errors.CONFIG_EMPTY_SOURCE_ID,
        1,
        "source-id: must not be empty",
    ),
    (
        "source-id: " + "x" * 33 + "\nfrom: {host: h}\n",
        errors.CONFIG_SOURCE_ID_TOO_LONG,
        1,
        "longer than 32",
    ),
    ("from: {host: h}\n", errors.CONFIG_YAML, 1, "source-id: required key is missing"),
    ("source-id: s\n", errors.CONFIG_YAML, 1, "from: required key is missing"),
    (
        MINIMAL + "  hots: x\n",
        errors.CONFIG_YAML,
        4,
        "from.hots: unknown key (did you mean 'host'?)",
    ),
    (
        MINIMAL + "  port: abc\n",
        errors.CONFIG_YAML,
        4,
        "from.port: Input should be a valid integer",
    ),
    (MINIMAL + "  port: 70000\n", errors.CONFIG_YAML, 4, "from.port: Input should be less than"),
    (MINIMAL + "flavor: oracle\n", errors.CONFIG_YAML, 4, "flavor: Input should be '', 'mysql' or"),
    (MINIMAL + "server-id: -1\n", errors.CONFIG_YAML, 4, "server-id"),
    (
        MINIMAL + "enable-gtid: maybe\n",
        errors.CONFIG_YAML,
        4,
        "enable-gtid: Input should be a valid boolean",
    ),
    (MINIMAL + "relay-binlog-name: binlog\n", errors.CONFIG_YAML, 4, "not a binlog file name"),
    (MINIMAL + "relay-binlog-name: mysql-bin.0\n", errors.CONFIG_YAML, 4, "not a binlog file name"),
    (
        MINIMAL + "flavor: mysql\nrelay-binlog-gtid: 0-1-2\n",
        errors.CONFIG_YAML,
        5,
        "not a mysql GTID set",
    ),
    (
        MINIMAL + "flavor: mariadb\nrelay-binlog-gtid: 3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5\n",
        errors.CONFIG_YAML,
        5,
        "not a mariadb GTID set",
    ),
    (
        MINIMAL + "checker:\n  backoff-max: 5\n",
        errors.CONFIG_YAML,
        5,
        "checker.backoff-max: '5' is not a duration",
    ),
    (
        MINIMAL + "checker:\n  backoff-max: 1s\n  backoff-min: 2s\n",
        errors.CONFIG_CHECKER_MAX,
        4,
        "checker: backoff-max is less than backoff-min",
    ),
    (MINIMAL + "purge:\n  interval: -1\n", errors.CONFIG_YAML, 5, "purge.interval"),
    (
        MINIMAL + "filters:\n  - schema-pattern: db\n    action: ignore\n",
        errors.CONFIG_YAML,
        6,
        "filters[0].action: Input should be 'Do' or 'Ignore'",
    ),
    (
        MINIMAL + "filters:\n  - schema-pattern: db\n    events: [upsert]\n    action: Do\n",
        errors.CONFIG_EVENT_FILTER,
        6,
        "filters[0].events: unknown event type 'upsert'",
    ),
    (
        MINIMAL + "filters:\n  - schema-pattern: 'd*b'\n    action: Do\n",
        errors.CONFIG_EVENT_FILTER,
        5,
        "filters[0].schema-pattern: pattern 'd*b'",
    ),
    (
        MINIMAL + "filters:\n  - schema-pattern: db\n    sql-pattern: ['(']\n    action: Do\n",
        errors.CONFIG_EVENT_FILTER,
        6,
        "filters[0].sql-pattern: bad regular expression",
    ),
    (
        MINIMAL
        + "filters:\n  - {schema-pattern: db, action: Do}\n"
        + "  - {schema-pattern: DB, action: Ignore}\n",
        errors.CONFIG_EVENT_FILTER,
        6,
        "filters[1]: same schema-pattern and table-pattern as filters[0]",
    ),
]


@pytest.mark.parametrize(("text", "spec", "line", "detail"), REFUSALS)
def test_refusals(text: str, spec: errors.ErrorCode, line: int, detail: str) -> None:
    with pytest.raises(errors.DMError) as info:
        parse_source_config(text, "source.yaml")
    assert info.value.code == spec.code
    assert info.value.message.startswith(f"source.yaml:{line}: ")
    assert detail in info.value.message
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5s", timedelta(seconds=1.5)),
        ("300ms", timedelta(milliseconds=300)),
        ("2us", timedelta(microseconds=2)),
        ("0", timedelta(0)),
        ("-1m", timedelta(minutes=-1)),
    ],
)
def test_go_durations(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "1d", "1h 2m"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=5), "5m0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=300), "300ms"),
        (timedelta(microseconds=7), "7µs"),
        (timedelta(0), "0s"),
        (timedelta(seconds=-2), "-2s"),
    ],
)
def test_go_duration_strings(value: timedelta, text: str) -> None:
    assert format_go_duration(value) == text
    assert parse_go_duration(text) == value


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64", 64 << 20),
        ("64MiB", 64 << 20),
        ("64M", 64 << 20),
        ("1.5G", 3 << 29),
        ("512k", 512 << 10),
        ("100b", 100),
        ("1 GiB", 1 << 30),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_model_json_round_trip() -> None:
    cfg = parse_source_config(FULL, "source.yaml", accept_unsupported=True)
    assert SourceConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_encrypted_password_written_by_us_decrypts() -> None:
    cfg = parse_source_config(MINIMAL + f"  password: {encrypt('s3cret')}\n", "s.yaml")
    assert cfg.from_.plain_password() == "s3cret"
