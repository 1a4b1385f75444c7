"""Process configs (dm-master, dm-worker): TOML file + flags into a strict pydantic model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dm import errors

M = TypeVar("M", bound=BaseModel)


def kebab(name: str) -> str:
    return name.replace("_", "-")


def load_process_config(model: type[M], path: str | None, flags: dict[str, Any]) -> M:
    """Flags override file keys; unknown keys and bad values are coded errors."""
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
        return model.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                           for e in exc.errors())
        raise errors.CONFIG_YAML(file=path or "command line", line="-", detail=detail) from exc


def listen_address(addr: str) -> tuple[str, int]:
    """`host:port` or `:port` (all interfaces) as (host, port) to bind."""
    host, _, port = addr.rpartition(":")
    return host or "0.0.0.0", int(port)


def advertised(addr: str, advertise: str) -> str:
    """What others dial: the advertise address, else the listen address, never 0.0.0.0."""
    chosen = advertise or addr
    host, _, port = chosen.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("", "0.0.0.0") else chosen
