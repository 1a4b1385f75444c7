"""DM's configuration files: source.yaml and task.yaml, strict and located on error.

Every failure to load is a DMError whose message starts with `<file>:<line>:` and
names the key; see docs/configuration.md.
"""

from dm.config.base import DBConfig, Security
from dm.config.encrypt import decrypt, decrypt_or_plain, encrypt
from dm.config.source import SourceConfig, load_source_config, parse_source_config
from dm.config.subtask import SubTaskConfig
from dm.config.task import TaskConfig, load_task_config, parse_task_config

__all__ = [
    "DBConfig",
    "Security",
    "SourceConfig",
    "SubTaskConfig",
    "TaskConfig",
    "decrypt",
    "decrypt_or_plain",
    "encrypt",
    "load_source_config",
    "load_task_config",
    "parse_source_config",
    "parse_task_config",
]
