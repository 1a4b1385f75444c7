"""Process configs (dm-master, dm-worker): TOML file + flags into a strict pydantic model."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dm import errors

M = TypeVar("M", bound=BaseModel)


LOG_ROTATION = {"log-rotate": "log rotation (log-rotate)"}


def kebab(name: str) -> str:
    return name.replace("_", "-")


def to_toml(cfg: BaseModel) -> str:
    """The config as TOML, one `key = value` line per key (what `get-config master|worker`
    shows, as DM's does)."""
    lines = []
    for name, value in cfg.model_dump().items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = str(value)
        elif isinstance(value, list):
            text = "[" + ", ".join(json.dumps(str(v)) for v in value) + "]"
        else:
            text = json.dumps(str(value))  # a TOML basic string
        lines.append(f"{kebab(name)} = {text}")
    return "\n".join(lines) + "\n"


def load_process_config(model: type[M], path: str | None, flags: dict[str, Any],
                        unsupported: dict[str, str] | None = None) -> M:
    """Flags override file keys; unknown keys and bad values are coded errors, and so is
    a key of `unsupported` (key -> the feature pydm lacks) set to other than its default."""
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise errors.CONFIG_READ_FILE(exc, file=path) from exc
        except tomllib.TOMLDecodeError as exc:
            raise errors.CONFIG_YAML(exc, file=path, line="?", detail="invalid TOML") from exc
    data.update({k: v for k, v in flags.items() if v not in (None, "")})
    try:
        cfg = model.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                           for e in exc.errors())
        raise errors.CONFIG_YAML(file=path or "command line", line="-", detail=detail) from exc
    _refuse(cfg, path, flags, unsupported or {})
    return cfg


def _refuse(cfg: BaseModel, path: str | None, flags: dict[str, Any],
            unsupported: dict[str, str]) -> None:
    defaults = type(cfg)()
    for key, feature in unsupported.items():
        name = key.replace("-", "_")
        if getattr(cfg, name) == getattr(defaults, name):
            continue
        from_flag = flags.get(name) not in (None, "")
        where = "command line" if from_flag or not path else path
        raise errors.CONFIG_NOT_SUPPORTED(
            file=where, line="-" if where == "command line" else _line_of(path, key),
            key=f"--{key}" if from_flag else key, feature=feature,
            default=repr(getattr(defaults, name)))


def _line_of(path: str | None, key: str) -> int | str:
    """The line that sets top-level `key` in a TOML file (tomllib keeps no positions)."""
    if path is None:
        return "-"
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if pattern.match(line):
            return number
    return "-"


def listen_address(addr: str) -> tuple[str, int]:
    """`host:port` or `:port` (all interfaces) as (host, port) to bind."""
    host, _, port = addr.rpartition(":")
    return host or "0.0.0.0", int(port)


def advertised(addr: str, advertise: str) -> str:
    """What others dial: the advertise address, else the listen address, never 0.0.0.0."""
    chosen = advertise or addr
    host, _, port = chosen.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("", "0.0.0.0") else chosen
