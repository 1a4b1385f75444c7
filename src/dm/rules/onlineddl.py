"""Which tables an online schema change tool made (DM's `online-ddl`): gh-ost's ghost
`_t_gho`, changelog `_t_ghc` and old `_t_del`, pt-online-schema-change's ghost `_t_new`
and old `_t_old`, or the task's `shadow-table-rules` / `trash-table-rules` (anchored
regular expressions whose one group captures the real table's name)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import StrEnum


class TableKind(StrEnum):
    REAL = "real table"
    GHOST = "ghost table"  # the copy the tool alters and swaps in
    TRASH = "trash table"  # the old table, gh-ost's changelog and cut-over sentry


class ShadowTables:
    def __init__(self, shadow_rules: Sequence[str], trash_rules: Sequence[str]) -> None:
        self._shadow = [re.compile(rule) for rule in shadow_rules]
        self._trash = [re.compile(rule) for rule in trash_rules]

    def kind(self, table: str) -> TableKind:
        """Matched on the name as written, as DM does (the tools keep the real name's case)."""
        if any(rule.match(table) for rule in self._shadow):
            return TableKind.GHOST
        if any(rule.match(table) for rule in self._trash):
            return TableKind.TRASH
        return TableKind.REAL

    def real_name(self, table: str) -> str:
        """The table a ghost or trash table stands for; a real table's own name."""
        for rule in (*self._shadow, *self._trash):
            found = rule.match(table)
            if found is not None:
                real: str | None = found.group(1)
                return real or table  # an optional group that took no part: itself
        return table

    def real_only(self, allows: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
        """`allows` narrowed to real tables: what a dump copies (a ghost table's rows are
        never migrated; its real table's are)."""
        return lambda schema, table: self.kind(table) is TableKind.REAL and allows(schema,
                                                                                  table)

    def by_real_name(self, allows: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
        """`allows` asked of the real table's name: the block-allow list judges a ghost or
        trash table's DDL as its real table's, as DM does."""
        return lambda schema, table: allows(schema, self.real_name(table))
