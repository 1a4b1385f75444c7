"""DM's column mappings (`column-mappings`, DM 2.0): one column's value rewritten per table.

`add prefix` / `add suffix` put `arguments[0]` before or after a string value. `partition
id` keeps shards' ids apart when they merge into one table: a value 0 <= id < 2**44 gets
the bits of `arguments` = [instance id, schema prefix, table prefix, separator] above it:
bit 63 stays 0, then 4 bits of the instance id, 7 bits of the number after
`<schema prefix><separator>` in the schema name, 8 bits of the number after `<table
prefix><separator>` in the table name (each part only when its argument is not empty,
each later part shifted down by what the earlier ones left out), as tidb-tools does. As
there, the rule applies to `target-column`; `source-column` is not read. A rule is chosen
per table as routes are (selector.py). Errors are `MappingError`s; callers give them
their unit's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dm.rules.patterns import PatternError, wildcard_matcher
from dm.rules.selector import Selectable, select

MAX_ORIGIN_ID = 1 << 44
_INSTANCE_BITS, _SCHEMA_BITS, _TABLE_BITS = 4, 7, 8


class MappingError(ValueError):
    """A value or table the rule cannot map."""


class ColumnMappingRuleLike(Protocol):
    """The shape of a `column-mappings` entry (dm.config's ColumnMappingRule has it)."""

    @property
    def schema_pattern(self) -> str: ...
    @property
    def table_pattern(self) -> str: ...
    @property
    def target_column(self) -> str: ...
    @property
    def expression(self) -> str: ...
    @property
    def arguments(self) -> list[str]: ...


@dataclass(frozen=True)
class ColumnRule:
    """A rule bound to one table: what `apply` does to each value of `column`."""

    name: str
    expression: str
    column: str
    argument: str  # the prefix or suffix
    high_bits: int  # partition id: the instance, schema and table bits

    def apply(self, value: Any) -> Any:
        if self.expression == "partition id":
            return self._partition(value)
        if isinstance(value, bytes):
            extra: str | bytes = self.argument.encode()
        elif isinstance(value, str):
            extra = self.argument
        else:
            raise MappingError(f"{self.expression}: column {self.column} holds {value!r}, "
                               "not a string")
        return extra + value if self.expression == "add prefix" else value + extra

    def _partition(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, (str, bytes)) and value.isascii() and value.isdigit():
            number = int(value)
        else:
            raise MappingError(f"partition id: column {self.column} holds {value!r}, "
                               "not an integer")
        if not 0 <= number < MAX_ORIGIN_ID:
            raise MappingError(f"partition id: column {self.column} holds {number}, outside "
                               f"[0, {MAX_ORIGIN_ID})")
        mapped = self.high_bits | number
        if isinstance(value, int):
            return mapped
        return str(mapped) if isinstance(value, str) else str(mapped).encode()

    def sql(self, variable: str, fail: str) -> str:
        """The same rewrite in SQL, of a user variable holding the column's value; `fail`
        is an expression the caller makes fail loudly (for values `apply` refuses)."""
        if self.expression == "partition id":
            return (f"IF({variable} >= 0 AND {variable} < {MAX_ORIGIN_ID}, "
                    f"{variable} | {self.high_bits}, {fail})")
        literal = "'" + self.argument.replace("\\", "\\\\").replace("'", "''") + "'"
        joined = (f"CONCAT({literal}, {variable})" if self.expression == "add prefix"
                  else f"CONCAT({variable}, {literal})")
        return f"IF({variable} IS NULL, {fail}, {joined})"


class ColumnMapping:
    """The rules of a subtask; `rule_for(schema, table)` says which one applies."""

    def __init__(self, rules: Mapping[str, ColumnMappingRuleLike], *,
                 case_sensitive: bool = False) -> None:
        self._case_sensitive = case_sensitive
        self._rules = [self._compile(name, rule) for name, rule in rules.items()]
        self._cache: dict[tuple[str, str], ColumnRule | None] = {}

    def __bool__(self) -> bool:
        return bool(self._rules)

    def _fold(self, text: str) -> str:
        return text if self._case_sensitive else text.lower()

    def _compile(self, name: str, rule: ColumnMappingRuleLike
                 ) -> Selectable[ColumnMappingRuleLike]:
        try:
            return Selectable(name, wildcard_matcher(self._fold(rule.schema_pattern)),
                              wildcard_matcher(self._fold(rule.table_pattern))
                              if rule.table_pattern else None, rule)
        except PatternError as exc:
            raise MappingError(f"column-mappings.{name}: {exc}") from None

    def rule_for(self, schema: str, table: str) -> ColumnRule | None:
        key = (schema, table)
        if key not in self._cache:
            self._cache[key] = self._resolve(self._fold(schema), self._fold(table))
        return self._cache[key]

    def _resolve(self, schema: str, table: str) -> ColumnRule | None:
        chosen, level = select(self._rules, schema, table)
        if not chosen:
            return None
        if len(chosen) > 1:
            raise MappingError(f"`{schema}`.`{table}` matches {len(chosen)} {level}-level "
                               f"column mapping rules ({', '.join(r.name for r in chosen)}); "
                               "one at most may apply")
        name, rule = chosen[0].name, chosen[0].rule
        args = [*rule.arguments, ""][:4] if rule.expression == "partition id" else \
            rule.arguments
        bits = _partition_bits(schema, table, args) if rule.expression == "partition id" \
            else 0
        return ColumnRule(name, rule.expression, rule.target_column,
                          args[0] if rule.expression != "partition id" else "", bits)


def _partition_bits(schema: str, table: str, args: list[str]) -> int:
    instance, schema_prefix, table_prefix, separator = args
    shift, bits = 63, 0
    if instance:
        shift -= _INSTANCE_BITS
        bits |= _number(instance, _INSTANCE_BITS, "the instance id") << shift
    if schema_prefix:
        shift -= _SCHEMA_BITS
        bits |= _suffix_number(schema, schema_prefix, separator, _SCHEMA_BITS) << shift
    if table_prefix:
        shift -= _TABLE_BITS
        bits |= _suffix_number(table, table_prefix, separator, _TABLE_BITS) << shift
    return bits


def _suffix_number(name: str, prefix: str, separator: str, width: int) -> int:
    """The number after `prefix` + `separator` in `name` (0 if `name` is the prefix)."""
    if name == prefix:
        return 0
    head = prefix + separator
    if len(head) >= len(name) or not name.startswith(head):
        raise MappingError(f"{head!r} does not begin the name {name!r}")
    return _number(name[len(head):], width, f"the end of {name!r}")


def _number(text: str, width: int, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) >= 1 << width:
        raise MappingError(f"{what} ({text!r}) is not a number below {1 << width}")
    return int(text)
