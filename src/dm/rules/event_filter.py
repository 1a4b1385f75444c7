"""Binlog event filter: which row changes and statements a task skips (DM's `filters`).

Semantics of tidb-tools `pkg/binlog-filter` as the DM syncer uses it:

* A rule applies to a name when its schema-pattern matches the schema and either it
  is schema-level (empty table-pattern: it also covers every table of the schema) or
  its table-pattern matches the table. A schema-only statement has the table `""`,
  which only the table-pattern `*` matches besides schema-level rules.
* Every applying rule is checked, in any order (the verdict does not depend on it):
  - events: a match under `Ignore` skips; no match under `Do` skips;
  - then, when there is a statement text and the rule has sql-patterns (joined with
    `|`, searched case-insensitively anywhere in the text): a match under `Ignore`
    skips; no match under `Do` skips.
  Nothing skipped by any rule keeps the event, so `Ignore` always wins.
* A rule's events are read in order; the first decisive entry settles the match:
  `all` (yes), `none` (no), `all ddl` / `none ddl` for DDL, `all dml` / `none dml`
  for DML, `incompatible ddl changes` for the incompatible DDL kinds, else the exact
  name. `create/drop/alter schema` are aliases of `... database`. An empty list
  matches nothing, so a `Do` rule without events skips every event on its tables.
* A statement without event names (one the filter cannot classify) is checked
  against sql-patterns only; `skip_sql` does that without any table context, so
  only rules with schema-pattern `*` (and table-pattern empty or `*`) apply there:
  DM's global SQL patterns.

Patterns and names are folded to lower case unless case-sensitive; event names are
always folded. Results of `skip_dml` are cached per (schema, table, event).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dm import errors
from dm.rules.patterns import Matcher, PatternError, wildcard_matcher

_CACHE_LIMIT = 100_000

DO = "Do"
IGNORE = "Ignore"

ALL = "all"
ALL_DML = "all dml"
ALL_DDL = "all ddl"
NONE = "none"
NONE_DML = "none dml"
NONE_DDL = "none ddl"
INCOMPATIBLE_DDL_CHANGES = "incompatible ddl changes"
SPECIAL_EVENTS = frozenset({ALL, ALL_DML, ALL_DDL, NONE, NONE_DML, NONE_DDL})

DML_EVENTS = ("insert", "update", "delete")

# DDL kinds DM counts as compatible; every other known DDL kind is "incompatible".
_COMPATIBLE_DDL = frozenset(
    {
        "create database", "alter database", "create table", "create index",
        "create view", "drop view", "alter table", "add table partition",
    }
)  # fmt: skip
_INCOMPATIBLE_DDL = frozenset(
    {
        "drop database", "drop table", "drop index", "rename table", "truncate table",
        "drop table partition", "truncate table partition", "reorganize table partition",
        "rebuild table partition", "coalesce table partition", "split table partition",
        "exchange table partition", "alter table partitioning", "remove table partitioning",
        "add foreign key", "drop foreign key", INCOMPATIBLE_DDL_CHANGES,
        "value range decrease", "precision decrease",
        "modify column", "rename column", "rename index", "drop column", "add column",
        "drop primary key", "add primary key", "drop unique key", "modify default value",
        "set default value", "modify constraint", "modify columns order", "modify charset",
        "modify collation", "remove auto increment", "modify storage engine",
        "modify schema charset and collate", "modify table charset and collate",
        "modify table comment", "recover table", "rebase auto id", "alter index visibility",
        "alter ttl info", "alter ttl remove", "multi schema change",
    }
)  # fmt: skip
_ALIASES = {
    "create schema": "create database",
    "drop schema": "drop database",
    "alter schema": "alter database",
}

KNOWN_EVENTS = (SPECIAL_EVENTS | frozenset(DML_EVENTS) | _COMPATIBLE_DDL | _INCOMPATIBLE_DDL
                | frozenset(_ALIASES))  # every event name a rule may list

_DML, _DDL, _INCOMPATIBLE = "dml", "ddl", "incompatible ddl"


def event_kind(event: str) -> str:
    """`dml`, `ddl` or `incompatible ddl` for a (normalized) event name; ValueError else."""
    if event in DML_EVENTS:
        return _DML
    if event in _COMPATIBLE_DDL:
        return _DDL
    if event in _INCOMPATIBLE_DDL:
        return _INCOMPATIBLE
    raise ValueError(f"unknown binlog event type {event!r}")


def normalize_event(event: str) -> str:
    """An event name as the filter compares it: lower case, schema aliases resolved."""
    lowered = event.lower()
    return _ALIASES.get(lowered, lowered)


class BinlogEventRuleLike(Protocol):
    """The shape of a `filters` entry (dm.config's BinlogEventRule has it)."""

    @property
    def schema_pattern(self) -> str: ...
    @property
    def table_pattern(self) -> str: ...
    @property
    def events(self) -> Sequence[str]: ...
    @property
    def sql_pattern(self) -> Sequence[str]: ...
    @property
    def action(self) -> str: ...


def _events_match(kind: str, event: str, rule_events: tuple[str, ...]) -> bool:
    """Whether a rule's event list covers `event`: the first decisive entry wins."""
    ddl = kind != _DML
    for entry in rule_events:
        if entry == ALL:
            return True
        if entry == NONE:
            return False
        if ddl:
            if entry == ALL_DDL:
                return True
            if entry == NONE_DDL:
                return False
        else:
            if entry == ALL_DML:
                return True
            if entry == NONE_DML:
                return False
        if kind == _INCOMPATIBLE and entry == INCOMPATIBLE_DDL_CHANGES:
            return True
        if entry == event:
            return True
    return False


@dataclass(frozen=True)
class _Rule:
    name: str
    schema: Matcher
    table: Matcher | None  # None: a schema-level rule
    events: tuple[str, ...]
    sql: re.Pattern[str] | None
    ignore: bool  # action Ignore; else Do
    dml_skips: frozenset[str]  # the DML events this rule alone skips

    def applies(self, schema: str, table: str) -> bool:
        if not self.schema(schema):
            return False
        return self.table is None or self.table(table)

    def skips_events(self, events: Sequence[tuple[str, str]]) -> bool:
        """Event check for (kind, name) pairs: matched if any name matches."""
        matched = any(_events_match(kind, name, self.events) for kind, name in events)
        return matched == self.ignore

    def skips_sql(self, sql: str) -> bool:
        if not sql or self.sql is None:
            return False
        return (self.sql.search(sql) is not None) == self.ignore


class BinlogEventFilter:
    """Decides `skip_dml`, `skip_ddl` and `skip_sql` from a task's `filters`."""

    def __init__(
        self,
        rules: Mapping[str, BinlogEventRuleLike] | Sequence[BinlogEventRuleLike],
        *,
        case_sensitive: bool = False,
    ) -> None:
        self._case_sensitive = case_sensitive
        named = (
            rules.items()
            if isinstance(rules, Mapping)
            else ((str(index), rule) for index, rule in enumerate(rules))
        )
        self._rules: list[_Rule] = []
        seen: dict[tuple[str, str], str] = {}
        for name, rule in named:
            compiled = self._compile(name, rule)
            key = (self._fold(rule.schema_pattern), self._fold(rule.table_pattern))
            if key in seen:
                raise self._error(
                    name, f"same schema-pattern and table-pattern as rule {seen[key]!r}"
                )
            seen[key] = name
            self._rules.append(compiled)
        self._dml_cache: dict[tuple[str, str, str], bool] = {}
        self._match_cache: dict[tuple[str, str], tuple[_Rule, ...]] = {}

    @property
    def empty(self) -> bool:
        """True when there are no rules: nothing is ever skipped."""
        return not self._rules

    def _fold(self, text: str) -> str:
        return text if self._case_sensitive else text.lower()

    @staticmethod
    def _error(name: str, detail: str) -> errors.DMError:
        return errors.CONFIG_EVENT_FILTER(
            file="binlog event filter", line="-", key=f"filters.{name}", detail=detail
        )

    def _compile(self, name: str, rule: BinlogEventRuleLike) -> _Rule:
        try:
            schema = wildcard_matcher(self._fold(rule.schema_pattern))
            table = wildcard_matcher(self._fold(rule.table_pattern)) if rule.table_pattern else None
        except PatternError as exc:
            raise self._error(name, str(exc)) from None
        if rule.action not in (DO, IGNORE):
            raise self._error(name, f"action must be Do or Ignore, not {rule.action!r}")
        events = tuple(normalize_event(e) for e in rule.events)
        for event in events:
            if event not in SPECIAL_EVENTS:
                try:
                    event_kind(event)
                except ValueError as exc:
                    raise self._error(name, str(exc)) from None
        sql: re.Pattern[str] | None = None
        if rule.sql_pattern:
            try:
                sql = re.compile("|".join(rule.sql_pattern), re.IGNORECASE)
            except re.error as exc:
                raise self._error(name, f"bad regular expression: {exc}") from None
        ignore = rule.action == IGNORE
        dml_skips = frozenset(e for e in DML_EVENTS if _events_match(_DML, e, events) == ignore)
        return _Rule(name, schema, table, events, sql, ignore, dml_skips)

    def _matching(self, schema: str, table: str) -> tuple[_Rule, ...]:
        """The rules applying to `schema`.`table` (names already folded)."""
        key = (schema, table)
        hit = self._match_cache.get(key)
        if hit is None:
            hit = tuple(r for r in self._rules if r.applies(schema, table))
            if len(self._match_cache) >= _CACHE_LIMIT:
                self._match_cache.clear()
            self._match_cache[key] = hit
        return hit

    def skip_dml(self, schema: str, table: str, event: str) -> bool:
        """Whether a row change (`insert`, `update` or `delete`) on the table is skipped."""
        key = (schema, table, event)
        verdict = self._dml_cache.get(key)
        if verdict is not None:
            return verdict
        name = event.lower()
        if name not in DML_EVENTS:
            raise ValueError(f"not a DML event type: {event!r}")
        rules = self._matching(self._fold(schema), self._fold(table))
        verdict = any(name in r.dml_skips for r in rules)
        if len(self._dml_cache) >= _CACHE_LIMIT:
            self._dml_cache.clear()
        self._dml_cache[key] = verdict
        return verdict

    def skip_ddl(self, schema: str, table: str, events: Sequence[str], sql: str) -> bool:
        """Whether a statement on the table (`""`: on the schema) is skipped.

        `events` are its DM event names, e.g. ("alter table", "add column"): a rule's
        event list matches the statement when it matches any of them. Without names
        only sql-patterns decide. `sql` is the raw statement text.
        """
        pairs: list[tuple[str, str]] = []
        for event in events:
            name = normalize_event(event)
            if name:
                pairs.append((event_kind(name), name))
        rules = self._matching(self._fold(schema), self._fold(table))
        for rule in rules:
            if pairs and rule.skips_events(pairs):
                return True
            if rule.skips_sql(sql):
                return True
        return False

    def skip_sql(self, sql: str) -> bool:
        """Whether the global SQL patterns (schema-pattern `*` rules) skip a statement.

        DM applies this to a query event it failed to handle (e.g. could not parse).
        """
        return self.skip_ddl("", "", (), sql)
