"""Block/allow list: which upstream schemas and tables a task migrates.

DM's `block-allow-list` rule (tidb-tools `pkg/filter`, modelled on MySQL's
`replicate-*` options), decided in this order:

1. schema: with `do-dbs`, the schema must match one of them; only without
   `do-dbs` does a match in `ignore-dbs` drop it;
2. table: a schema-only check (empty table) passes; a match in `do-tables`
   passes; else a match in `ignore-tables` drops it; else it passes only when
   `do-tables` is empty.

System schemas are never migrated, whatever the rule says. Names and wildcards
are folded to lower case unless the task is case-sensitive; `~regex` values are
matched case-insensitively then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dm import errors
from dm.core.schemas import is_system_schema
from dm.rules.patterns import Matcher, PatternError, value_matcher

_CACHE_LIMIT = 100_000


class TableRefLike(Protocol):
    @property
    def db_name(self) -> str: ...
    @property
    def tbl_name(self) -> str: ...


class BARuleLike(Protocol):
    """The shape of a `block-allow-list` entry (dm.config's BARule has it)."""

    @property
    def do_dbs(self) -> Sequence[str]: ...
    @property
    def ignore_dbs(self) -> Sequence[str]: ...
    @property
    def do_tables(self) -> Sequence[TableRefLike]: ...
    @property
    def ignore_tables(self) -> Sequence[TableRefLike]: ...


@dataclass(frozen=True)
class _TableMatcher:
    schema: Matcher
    table: Matcher

    def __call__(self, schema: str, table: str) -> bool:
        return self.schema(schema) and self.table(table)


class BlockAllowList:
    """Decides `allows(schema, table)`; results are cached per name."""

    def __init__(
        self,
        rule: BARuleLike | None = None,
        *,
        case_sensitive: bool = False,
        name: str = "",
    ) -> None:
        self._case_sensitive = case_sensitive
        self._cache: dict[tuple[str, str], bool] = {}
        where = f"block-allow-list.{name}" if name else "block-allow-list"
        try:
            self._do_dbs = self._schemas(rule.do_dbs if rule else ())
            self._ignore_dbs = self._schemas(rule.ignore_dbs if rule else ())
            self._do_tables = self._tables(rule.do_tables if rule else ())
            self._ignore_tables = self._tables(rule.ignore_tables if rule else ())
        except PatternError as exc:
            raise errors.CONFIG_BA_LIST(where=where, detail=str(exc)) from None

    def _schemas(self, values: Sequence[str]) -> list[Matcher]:
        return [self._matcher(v, "db name") for v in values]

    def _tables(self, refs: Sequence[TableRefLike]) -> list[_TableMatcher]:
        return [
            _TableMatcher(
                self._matcher(r.db_name, "db-name"), self._matcher(r.tbl_name, "tbl-name")
            )
            for r in refs
        ]

    def _matcher(self, value: str, what: str) -> Matcher:
        if not value:
            raise PatternError(f"{what} must not be empty")
        return value_matcher(value, case_sensitive=self._case_sensitive)

    def allows(self, schema: str, table: str = "") -> bool:
        """Whether `schema`.`table` is migrated; an empty table asks about the schema."""
        if is_system_schema(schema):
            return False
        if not self._case_sensitive:
            schema, table = schema.lower(), table.lower()
        key = (schema, table)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._schema_passes(schema) and self._table_passes(schema, table)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = verdict
        return verdict

    def takes_database(self, schema: str) -> bool:
        """Whether the dump takes `schema` as a database, with tables or not: the
        `do-dbs` say so, or else a `do-tables` entry names it, or else it is not ignored."""
        if not self.allows(schema):
            return False
        if self._do_dbs or not self._do_tables:
            return True
        folded = schema if self._case_sensitive else schema.lower()
        return any(m.schema(folded) for m in self._do_tables)

    def _schema_passes(self, schema: str) -> bool:
        if self._do_dbs:
            return any(m(schema) for m in self._do_dbs)
        return not any(m(schema) for m in self._ignore_dbs)

    def _table_passes(self, schema: str, table: str) -> bool:
        if not table:
            return True
        if any(m(schema, table) for m in self._do_tables):
            return True
        if any(m(schema, table) for m in self._ignore_tables):
            return False
        return not self._do_tables
