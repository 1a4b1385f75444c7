"""Building blocks shared by source.yaml and task.yaml: key style, durations, sizes,
database connections and binlog event-filter rules."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dm import errors
from dm.config.duration import format_go_duration, parse_go_duration
from dm.config.encrypt import decrypt_or_plain, encrypt
from dm.rules.event_filter import KNOWN_EVENTS
from dm.rules.patterns import PatternError, check_wildcard

MASK = "******"
UTC_OFFSET = "+00:00"


def kebab(name: str) -> str:
    """Python field name to DM's YAML key: `worker_count` -> `worker-count`, `from_` -> `from`."""
    return name.rstrip("_").replace("_", "-")


def dm_error(code: int, detail: str, **context: Any) -> PydanticCustomError:
    """A validation error that carries the DM error code to report it with."""
    return PydanticCustomError("dm", "{detail}", {"detail": detail, "dm_code": code, **context})


class ConfigModel(BaseModel):
    """Strict, kebab-case keys; a YAML `null` means "use the default"."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=kebab,
        populate_by_name=True,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields)
        for name, info in cls.model_fields.items():
            known.add(info.alias or name)
            if isinstance(info.validation_alias, AliasChoices):
                known.update(c for c in info.validation_alias.choices if isinstance(c, str))
        return {k: v for k, v in data.items() if v is not None or k not in known}


class LoadedConfig(ConfigModel):
    """A whole config file; `warnings` lists its deprecated or overridden keys, located."""

    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return self._warnings

    def __eq__(self, other: object) -> bool:
        """Equal when the settings are; where they were loaded from does not count."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]


GoDuration = Annotated[
    timedelta,
    BeforeValidator(parse_go_duration),
    PlainSerializer(format_go_duration, return_type=str),
]


# --- sizes (DM's dumpling.ParseFileSize) ------------------------------------------
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?")
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Bytes in `text`: a bare number is MiB, else a size like 64MiB, 1.5G, 512k."""
    if text.isdigit():
        return int(text) * 1024**2
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size")
    return int(float(match.group(1)) * 1024 ** _SIZE_POWERS[(match.group(2) or "").lower()])


# --- database connections -----------------------------------------------------------
def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError("not base64 (PEM text goes in ssl-*-bytes)") from None
    return value


class Security(ConfigModel):
    """TLS material: files, inline PEM (`ssl-*-bytes`) or base64 PEM (`ssl-*-base64`), in
    DM's order of precedence (inline, base64, file); `cert-allowed-cn` limits the server
    certificates accepted by their common name."""

    ssl_ca: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    cert_allowed_cn: list[str] = Field(default_factory=list)
    ssl_ca_bytes: str = ""
    ssl_cert_bytes: str = ""
    ssl_key_bytes: str = ""
    ssl_ca_base64: Annotated[str, AfterValidator(_base64)] = ""
    ssl_cert_base64: Annotated[str, AfterValidator(_base64)] = ""
    ssl_key_base64: Annotated[str, AfterValidator(_base64)] = ""

    def pem(self, name: str) -> str | None:
        """The inline PEM text of `ssl-<name>` (ca, cert, key), if given so."""
        inline: str = getattr(self, f"ssl_{name}_bytes")
        encoded: str = getattr(self, f"ssl_{name}_base64")
        return inline or (base64.b64decode(encoded).decode() if encoded else None)


class DBConfig(ConfigModel):
    """A MySQL-protocol endpoint: the source's `from` and the task's `target-database`.

    `password` holds what the user wrote, plain or `dmctl encrypt`ed; use
    `plain_password()` to connect and `masked()` to show it.
    """

    host: str
    port: int = Field(default=3306, ge=1, le=65535)
    user: str = ""
    password: str = ""
    session: dict[str, str] = Field(default_factory=dict)
    security: Security | None = None
    max_allowed_packet: int | None = None  # deprecated: the driver discovers it

    def plain_password(self) -> str:
        return decrypt_or_plain(self.password) if self.password else ""

    def masked(self) -> DBConfig:
        return self.model_copy(update={"password": MASK if self.password else ""})

    def session_vars(self) -> dict[str, str]:
        """Session variables to set, with `time_zone` forced to UTC as DM does."""
        kept = {k: v for k, v in self.session.items() if k.lower() != "time_zone"}
        return {**kept, "time_zone": UTC_OFFSET}

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (MASK if name == "password" and value else value)


Secrets = Literal["encrypt", "mask"]


def display_db(db: DBConfig, secrets: Secrets) -> DBConfig:
    """`db` with its password encrypted (DM's get-config) or masked (logs, status)."""
    if secrets == "mask" or not db.password:
        return db.masked()
    return db.model_copy(update={"password": encrypt(db.plain_password())})


def dump_yaml(model: BaseModel, update: dict[str, Any]) -> str:
    """`model` (with `update` applied) as DM-style YAML, keys in field order."""
    data = model.model_copy(update=update).model_dump(mode="json", by_alias=True, exclude_none=True)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# --- binlog event filter rules (tidb-tools pkg/binlog-filter) -----------------------
EVENT_TYPES = KNOWN_EVENTS  # one vocabulary with the filter that applies the rules


def _pattern(code: int, value: str) -> str:
    try:
        check_wildcard(value)
    except PatternError as exc:
        raise dm_error(code, str(exc)) from None
    return value


class BinlogEventRule(ConfigModel):
    """One `filters` rule: skip (Ignore) or keep only (Do) events on matching tables."""

    schema_pattern: str
    table_pattern: str = ""
    events: list[str] = Field(default_factory=list)
    sql_pattern: list[str] = Field(default_factory=list)
    action: Literal["Do", "Ignore"]

    @field_validator("schema_pattern")
    @classmethod
    def _schema(cls, value: str) -> str:
        return _pattern(errors.CONFIG_EVENT_FILTER.code, value)

    @field_validator("table_pattern")
    @classmethod
    def _table(cls, value: str) -> str:
        return _pattern(errors.CONFIG_EVENT_FILTER.code, value) if value else value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        lowered = [e.lower() for e in value]
        unknown = [e for e in lowered if e not in EVENT_TYPES]
        if unknown:
            raise dm_error(errors.CONFIG_EVENT_FILTER.code, f"unknown event type {unknown[0]!r}")
        return lowered

    @field_validator("sql_pattern")
    @classmethod
    def _sql(cls, value: list[str]) -> list[str]:
        try:
            re.compile("|".join(value), re.IGNORECASE)
        except re.error as exc:
            raise dm_error(
                errors.CONFIG_EVENT_FILTER.code, f"bad regular expression: {exc}"
            ) from None
        return value

    def pattern_key(self, case_sensitive: bool) -> tuple[str, str]:
        """The (schema, table) pattern pair two rules may not share in one filter."""
        pair = (self.schema_pattern, self.table_pattern)
        return pair if case_sensitive else (pair[0].lower(), pair[1].lower())
