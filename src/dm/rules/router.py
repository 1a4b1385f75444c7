"""Table router: maps upstream `schema`.`table` to its downstream name (DM's `routes`).

Semantics of tidb-tools `pkg/table-router`: the rule is chosen as selector.py says (two
matches at the winning level are an error). An empty target keeps the upstream name.
Patterns and names are folded to lower case unless case-sensitive; targets are used as
written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from dm import errors
from dm.rules.patterns import PatternError, wildcard_matcher
from dm.rules.selector import Selectable, select

_CACHE_LIMIT = 100_000


class ExtractorLike(Protocol):
    """An `extract-table`, `extract-schema` or `extract-source` entry."""

    @property
    def regexp(self) -> str: ...
    @property
    def target_column(self) -> str: ...


class RouteRuleLike(Protocol):
    """The shape of a `routes` entry (dm.config's RouteRule has it)."""

    @property
    def schema_pattern(self) -> str: ...
    @property
    def table_pattern(self) -> str: ...
    @property
    def target_schema(self) -> str: ...
    @property
    def target_table(self) -> str: ...
    @property
    def extract_table(self) -> ExtractorLike | None: ...
    @property
    def extract_schema(self) -> ExtractorLike | None: ...
    @property
    def extract_source(self) -> ExtractorLike | None: ...


@dataclass(frozen=True)
class Extension:
    """Extra downstream columns of a merged table and one upstream table's values for
    them (DM 5.4+'s extract-table, extract-schema, extract-source, in that order)."""

    columns: tuple[str, ...]
    values: tuple[str, ...]


@dataclass(frozen=True)
class _Target:
    schema: str
    table: str
    # (which name: 0 table, 1 schema, 2 source; its regexp; the column it goes into)
    extractors: tuple[tuple[int, re.Pattern[str], str], ...] = ()

    def extension(self, names: tuple[str, str, str]) -> Extension | None:
        """As DM: the regexp's first match in the name, its groups joined ("" when it
        does not match)."""
        if not self.extractors:
            return None
        values = []
        for which, regexp, _ in self.extractors:
            found = regexp.search(names[which])
            values.append("".join(g or "" for g in found.groups()) if found else "")
        return Extension(tuple(c for _, _, c in self.extractors), tuple(values))


class TableRouter:
    """Routes names with `route(schema, table)`; results are cached per name."""

    def __init__(self, rules: Mapping[str, RouteRuleLike], *, case_sensitive: bool = False,
                 source_id: str = "") -> None:
        self._case_sensitive = case_sensitive
        self._source_id = source_id  # what extract-source reads
        self._routes = [self._compile(name, rule) for name, rule in rules.items()]
        self._check_duplicates(rules)
        self._cache: dict[tuple[str, str], tuple[str, str] | errors.DMError] = {}
        self._extracts = any(r.rule.extractors for r in self._routes)
        self._extensions: dict[tuple[str, str], Extension | None] = {}

    def _fold(self, text: str) -> str:
        return text if self._case_sensitive else text.lower()

    def _compile(self, name: str, rule: RouteRuleLike) -> Selectable[_Target]:
        try:
            if not rule.schema_pattern:
                raise PatternError("schema-pattern must not be empty")
            if not rule.target_schema:
                raise PatternError("target-schema must not be empty")
            schema = wildcard_matcher(self._fold(rule.schema_pattern))
            table = wildcard_matcher(self._fold(rule.table_pattern)) if rule.table_pattern else None
        except PatternError as exc:
            raise errors.CONFIG_TABLE_ROUTER(where=f"routes.{name}", detail=str(exc)) from None
        extractors = tuple((which, re.compile(ext.regexp), ext.target_column)
                           for which, ext in enumerate((rule.extract_table, rule.extract_schema,
                                                        rule.extract_source))
                           if ext is not None)
        return Selectable(name, schema, table,
                          _Target(rule.target_schema, rule.target_table, extractors))

    def _check_duplicates(self, rules: Mapping[str, RouteRuleLike]) -> None:
        seen: dict[tuple[str, str], str] = {}
        for name, rule in rules.items():
            key = (self._fold(rule.schema_pattern), self._fold(rule.table_pattern))
            if key in seen:
                raise errors.CONFIG_TABLE_ROUTER(
                    where=f"routes.{name}",
                    detail=f"same schema-pattern and table-pattern as rule {seen[key]!r}",
                )
            seen[key] = name

    def route(self, schema: str, table: str) -> tuple[str, str]:
        """The downstream (schema, table) for an upstream one."""
        if not schema:
            return schema, table
        key = (schema, table)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self._resolve(schema, table)
            except errors.DMError as exc:
                hit = exc
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = hit
        if isinstance(hit, errors.DMError):
            raise hit
        return hit

    def _resolve(self, schema: str, table: str) -> tuple[str, str]:
        target = self._rule(schema, table)
        if target is None:
            return schema, table
        return target.schema or schema, target.table or table

    def _rule(self, schema: str, table: str) -> _Target | None:
        chosen, level = select(self._routes, self._fold(schema), self._fold(table))
        if not chosen:
            return None
        if len(chosen) > 1:
            raise errors.ROUTE_DUP_MATCH(
                table=f"`{schema}`.`{table}`", level=level, rules=", ".join(r.name for r in chosen)
            )
        return chosen[0].rule

    def extension(self, schema: str, table: str) -> Extension | None:
        """The extra columns and values of an upstream table's rows in its merged table,
        if its route has `extract-*` (the regexps see the names as written upstream)."""
        if not self._extracts:  # asked once per rows event: nothing to do, at once
            return None
        key = (schema, table)
        if key not in self._extensions:
            target = self._rule(schema, table)
            if len(self._extensions) >= _CACHE_LIMIT:
                self._extensions.clear()
            self._extensions[key] = None if target is None else \
                target.extension((table, schema, self._source_id))
        return self._extensions[key]
