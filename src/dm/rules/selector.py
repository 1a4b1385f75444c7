"""Which rule of a list applies to a table, as tidb-tools' table-rule selector decides
for routes and column mappings: a rule with an empty table-pattern is schema-level, any
other table-level; for a table, table-level matches win over schema-level ones; a schema
alone consults schema-level rules only. Two matches at the winning level are ambiguous."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from dm.rules.patterns import Matcher

T = TypeVar("T")


@dataclass(frozen=True)
class Selectable(Generic[T]):
    name: str
    schema: Matcher  # on folded names
    table: Matcher | None  # None: a schema-level rule
    rule: T


def select(rules: Sequence[Selectable[T]], schema: str, table: str
           ) -> tuple[list[Selectable[T]], str]:
    """The matches at the winning level ("table" or "schema") for folded names; more than
    one is for the caller to refuse."""
    candidates = [r for r in rules if r.schema(schema)]
    table_level = [r for r in candidates if r.table is not None and r.table(table)]
    if table and table_level:
        return table_level, "table"
    return [r for r in candidates if r.table is None], "schema"
