"""DM's configuration files: source.yaml and task.yaml, strict and located on error.

Every failure to load is a DMError whose message starts with `<file>:<line>:` and
names the key; see docs/configuration.md. The names below load on first use: dmctl
imports `dm.config.duration` alone and starts without pydantic. (DM's password
encryption is `dm.config.encrypt`: its functions share the submodule's name.)
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "DBConfig": "base", "Security": "base",
    "SourceConfig": "source", "load_source_config": "source", "parse_source_config": "source",
    "SubTaskConfig": "subtask",
    "TaskConfig": "task", "load_task_config": "task", "parse_task_config": "task",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dm.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dm.config.{home}"), name)
