"""source.yaml: one upstream MySQL/MariaDB server or replica group (DM's source_config.go)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from dm import errors
from dm.config.base import (
    BinlogEventRule,
    ConfigModel,
    DBConfig,
    GoDuration,
    LoadedConfig,
    Secrets,
    display_db,
    dm_error,
    dump_yaml,
)
from dm.config.unsupported import refuse_source
from dm.config.yamlfile import Findings, load_yaml, read_text

MAX_SOURCE_ID_LENGTH = 32
DEFAULT_RELAY_DIR = "relay-dir"

_MYSQL_GTID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"(:\d+(-\d+)?)+"
)
_MARIADB_GTID = re.compile(r"\d+-\d+-\d+")


def check_source_id(value: str) -> str:
    """DM's rules for a source-id: non-empty, at most 32 characters."""
    if not value:
        raise dm_error(errors.CONFIG_EMPTY_SOURCE_ID.code, "must not be empty")
    if len(value) > MAX_SOURCE_ID_LENGTH:
        raise dm_error(errors.CONFIG_SOURCE_ID_TOO_LONG.code, "too long")
    return value


def check_binlog_name(value: str) -> str:
    """A binlog file name is `<base>.<positive number>` (DM's binlog.VerifyFilename)."""
    base, dot, seq = value.rpartition(".")
    if value and not (dot and base and "." not in base and seq.isdigit() and int(seq) > 0):
        raise ValueError(f"{value!r} is not a binlog file name like mysql-bin.000001")
    return value


SourceId = Annotated[str, AfterValidator(check_source_id)]
BinlogName = Annotated[str, AfterValidator(check_binlog_name)]


def check_gtid_set(flavor: str, value: str) -> None:
    """Light syntax check of a GTID set for `flavor` ("" accepts either syntax)."""
    parts = [p.strip() for p in value.replace("\n", "").split(",") if p.strip()]
    syntaxes = {"mysql": [_MYSQL_GTID], "mariadb": [_MARIADB_GTID]}.get(
        flavor, [_MYSQL_GTID, _MARIADB_GTID]
    )
    if not any(all(s.fullmatch(p) for p in parts) for s in syntaxes):
        shape = {"mysql": "uuid:1-10", "mariadb": "0-1-100"}.get(flavor, "uuid:1-10 or 0-1-100")
        raise ValueError(f"{value!r} is not a {flavor or 'MySQL or MariaDB'} GTID set like {shape}")


class PurgeConfig(ConfigModel):
    """Automatic relay-log purge."""

    interval: int = Field(default=3600, ge=0)  # seconds between purge checks
    expires: int = Field(default=0, ge=0)  # hours a relay file is kept; 0 = no age purge
    remain_space: int = Field(default=15, ge=0)  # GB of free space to keep


class CheckerConfig(ConfigModel):
    """Auto-resume of paused tasks with exponential backoff."""

    check_enable: bool = True
    backoff_rollback: GoDuration = timedelta(minutes=5)
    backoff_max: GoDuration = timedelta(minutes=5)
    check_interval: GoDuration = timedelta(seconds=5)
    backoff_min: GoDuration = timedelta(seconds=1)
    backoff_jitter: bool = True
    backoff_factor: float = Field(default=2.0, ge=1.0)

    @model_validator(mode="after")
    def _max_not_below_min(self) -> CheckerConfig:
        if self.backoff_max < self.backoff_min:
            raise dm_error(errors.CONFIG_CHECKER_MAX.code, "backoff-max is less than backoff-min")
        return self


class SourceConfig(LoadedConfig):
    """One upstream source; `load_source_config` reads and checks a source.yaml."""

    source_id: SourceId
    server_id: int = Field(default=0, ge=0, le=2**32 - 1)  # 0: picked at operate-source time
    flavor: Literal["", "mysql", "mariadb"] = ""  # "": detected from the server version
    enable_gtid: bool = False
    auto_fix_gtid: bool = False
    enable_relay: bool = False
    relay_binlog_name: BinlogName = ""
    relay_binlog_gtid: str = ""
    relay_dir: str = DEFAULT_RELAY_DIR
    meta_dir: str = ""
    charset: str = ""
    from_: DBConfig
    purge: PurgeConfig = Field(default_factory=PurgeConfig)
    checker: CheckerConfig = Field(default_factory=CheckerConfig)
    case_sensitive: bool = False
    filters: list[BinlogEventRule] = Field(default_factory=list)
    tracer: dict[str, Any] | None = None  # deprecated, ignored

    @field_validator("relay_dir")
    @classmethod
    def _relay_dir(cls, value: str) -> str:
        return value or DEFAULT_RELAY_DIR

    def to_yaml(self, *, secrets: Secrets = "encrypt") -> str:
        """The config as YAML (for `get-config`), the password encrypted or masked."""
        return dump_yaml(self, {"from_": display_db(self.from_, secrets)})


def parse_source_config(text: str, filename: str, *,
                        accept_unsupported: bool = False) -> SourceConfig:
    """Parse and check source.yaml text; every failure is a DMError naming file:line: key.
    Keys pydm does not act on yet are refused (unsupported.py) unless `accept_unsupported`,
    which only tests of the parsing itself use."""
    findings = Findings(load_yaml(text, filename))
    cfg = findings.validate(SourceConfig, missing={})
    _check(cfg, findings)
    if not accept_unsupported:
        refuse_source(cfg, findings)
    findings.raise_errors()
    cfg._warnings = findings.warnings
    return cfg


def load_source_config(path: str | Path) -> SourceConfig:
    return parse_source_config(read_text(path), str(path))


def _check(cfg: SourceConfig, findings: Findings) -> None:
    if cfg.relay_binlog_gtid:
        try:
            check_gtid_set(cfg.flavor, cfg.relay_binlog_gtid)
        except ValueError as exc:
            findings.invalid(("relay-binlog-gtid",), str(exc))
    seen: dict[tuple[str, str], int] = {}
    for index, rule in enumerate(cfg.filters):
        key = rule.pattern_key(cfg.case_sensitive)
        if key in seen:
            findings.error(
                errors.CONFIG_EVENT_FILTER,
                ("filters", index),
                detail=f"same schema-pattern and table-pattern as filters[{seen[key]}]",
            )
        seen.setdefault(key, index)
    if cfg.tracer is not None:
        findings.warn(("tracer",), "deprecated and ignored")
    if Path(cfg.relay_dir).is_absolute():
        findings.warn(("relay-dir",), "an absolute relay-dir breaks when several workers relay")
    warn_db(cfg.from_, ("from",), findings)


def warn_db(db: DBConfig, path: tuple[str, ...], findings: Findings) -> None:
    """Warnings DM gives for a database block."""
    if db.max_allowed_packet is not None:
        findings.warn((*path, "max-allowed-packet"), "deprecated and ignored")
    for key, value in db.session.items():
        if key.lower() == "time_zone" and value != "+00:00":
            findings.warn((*path, "session", key), "overwritten with +00:00 (UTC)")
