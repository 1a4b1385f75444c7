"""Which upstream schemas and tables a task takes: DM's system schemas never, the rest as
its block-allow list (or a dump's own filter) allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SYSTEM_SCHEMAS = frozenset({"mysql", "sys", "information_schema", "performance_schema",
                            "metrics_schema", "inspection_schema", "dm_heartbeat"})

Allows = Callable[[str, str], bool]


def is_system_schema(schema: str) -> bool:
    """True for schemas DM always skips (compared case-insensitively)."""
    return schema.lower() in SYSTEM_SCHEMAS


@dataclass(frozen=True)
class Selection:
    """What a task's dump takes: tables, and databases with tables or not (an empty
    database is created downstream too, as DM's dump does)."""

    tables: Allows
    databases: Callable[[str], bool]


def taken(allows: Allows, schema: str, table: str = "") -> bool:
    """Whether the task takes `schema` (`table` empty) or `schema`.`table`."""
    return not is_system_schema(schema) and allows(schema, "") and (
        not table or allows(schema, table))
