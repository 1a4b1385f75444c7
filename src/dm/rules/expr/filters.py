"""The public filters: the `expression-filter` rules of a subtask, compiled per table version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from dm import errors
from dm.config.task import ExpressionFilter
from dm.core.names import qualified
from dm.rules.expr.collations import BINARY_STRING, COLUMN, coll_of
from dm.rules.expr.compiler import Compiler
from dm.rules.expr.nodes import Fn, Node, Row, Unsupported, sql
from dm.rules.expr.parse import parse
from dm.rules.expr.values import truth
from dm.schema.table import TableInfo

_CACHE_LIMIT = 4096  # compiled table versions kept; a DDL makes a new TableInfo


class FilteredChange(Protocol):
    """What a filter reads of a row change (dm.sync.change's RowChange has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def table(self) -> TableInfo: ...
    @property
    def before(self) -> Row | None: ...
    @property
    def after(self) -> Row | None: ...


_KEYS_BY_KIND = ("insert-value-expr", "update-old-value-expr", "update-new-value-expr",
                 "delete-value-expr")

RowTest = Callable[[Row], bool]
UpdateTest = Callable[[Row, Row], bool]


@dataclass(frozen=True)
class _Rule:
    name: str
    schema: str
    table: str
    exprs: dict[str, tuple[str, Any]]  # key -> (text, parsed expression)


class _Checks(NamedTuple):
    insert: tuple[RowTest, ...]
    update: tuple[UpdateTest, ...]
    delete: tuple[RowTest, ...]


_NO_CHECKS = _Checks((), (), ())


def _fail(rule: _Rule, key: str, text: str, detail: str,
          cause: BaseException | None = None) -> errors.DMError:
    message = (f"expression-filter {rule.name!r} on table {qualified(rule.schema, rule.table)}: "
               f"{key} {text!r}: {detail}")
    return errors.DMError(errors.CONFIG_EXPR_GRAMMAR, message,
                          "" if cause is None else f"{type(cause).__name__}: {cause}")


def _static_column(e: Any) -> Node:
    return Node(lambda _row: None)


def _column_resolver(info: TableInfo) -> Callable[[Any], Node]:
    def resolve(e: Any) -> Node:
        name = str(e.name)
        table, db = e.text("table"), e.text("db")
        if e.text("catalog") or (table and table.lower() != info.table.lower()) or (
                db and db.lower() != info.schema.lower()):
            raise Unsupported(f"unknown column {sql(e)}")
        try:
            pos = info.position(name)
        except KeyError:
            raise Unsupported(f"unknown column {name!r}") from None
        column = info.columns[pos]
        collation = column.collation
        if collation is None and column.charset in (None, info.charset):
            collation = info.collation
        coll = BINARY_STRING if column.charset == "binary" else coll_of(collation, COLUMN)
        return Node(itemgetter(pos), False, coll)

    return resolve


class ExpressionFilters:
    """The `expression-filter` rules of one subtask, ready to test row changes."""

    def __init__(self, filters: Mapping[str, ExpressionFilter], *,
                 case_sensitive: bool = False) -> None:
        self._case_sensitive = case_sensitive
        self._rules: dict[tuple[str, str], list[_Rule]] = {}
        self._cache: dict[int, tuple[TableInfo, _Checks]] = {}
        static = Compiler(_static_column)
        for name, cfg in filters.items():
            texts = dict(zip(_KEYS_BY_KIND, (cfg.insert_value_expr, cfg.update_old_value_expr,
                                             cfg.update_new_value_expr, cfg.delete_value_expr),
                             strict=True))
            rule = _Rule(name, cfg.schema_, cfg.table, {})
            for key, text in texts.items():
                if not text.strip():
                    continue
                try:
                    parsed = parse(text)
                    static.node(parsed)  # every construct supported; columns come later
                except Unsupported as exc:
                    raise _fail(rule, key, text, str(exc)) from None
                rule.exprs[key] = (text, parsed)
            if rule.exprs:
                self._rules.setdefault(self._fold(cfg.schema_, cfg.table), []).append(rule)

    def _fold(self, schema: str, table: str) -> tuple[str, str]:
        return (schema, table) if self._case_sensitive else (schema.lower(), table.lower())

    def __bool__(self) -> bool:
        return bool(self._rules)

    def applies_to(self, schema: str, table: str) -> bool:
        """Whether any filter names this upstream table."""
        return self._fold(schema, table) in self._rules

    def check(self, info: TableInfo) -> None:
        """Compile the filters of `info`'s table now: raises on unknown columns."""
        self._checks(info)

    def skip(self, change: FilteredChange) -> bool:
        """Whether the change is filtered out (never for REPLACE, made after filtering)."""
        if not self._rules:
            return False
        info = change.table
        hit = self._cache.get(id(info))
        checks = hit[1] if hit is not None and hit[0] is info else self._checks(info)
        kind = change.kind
        if kind == "insert":
            row = change.after
            if row is not None:
                for test in checks.insert:
                    if test(row):
                        return True
        elif kind == "update":
            old, new = change.before, change.after
            if old is not None and new is not None:
                for update_test in checks.update:
                    if update_test(old, new):
                        return True
        elif kind == "delete":
            row = change.before
            if row is not None:
                for test in checks.delete:
                    if test(row):
                        return True
        return False

    def _checks(self, info: TableInfo) -> _Checks:
        rules = self._rules.get(self._fold(info.schema, info.table), [])
        checks = self._compile(info, rules) if rules else _NO_CHECKS
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[id(info)] = (info, checks)
        return checks

    @staticmethod
    def _compile(info: TableInfo, rules: list[_Rule]) -> _Checks:
        compiler = Compiler(_column_resolver(info))
        inserts: list[RowTest] = []
        updates: list[UpdateTest] = []
        deletes: list[RowTest] = []
        for rule in rules:
            tests: dict[str, RowTest] = {}
            for key, (text, parsed) in rule.exprs.items():
                try:
                    node = compiler.node(parsed)
                except Unsupported as exc:
                    raise _fail(rule, key, text, str(exc)) from None
                tests[key] = _row_test(rule, key, text, node.fn)
            if "insert-value-expr" in tests:
                inserts.append(tests["insert-value-expr"])
            if "delete-value-expr" in tests:
                deletes.append(tests["delete-value-expr"])
            old, new = tests.get("update-old-value-expr"), tests.get("update-new-value-expr")
            if old is not None or new is not None:
                updates.append(_update_test(old, new))
        return _Checks(tuple(inserts), tuple(updates), tuple(deletes))


def _row_test(rule: _Rule, key: str, text: str, fn: Fn) -> RowTest:
    def test(row: Row) -> bool:
        try:
            v = fn(row)
            if type(v) is int:  # what comparisons and logic yield
                return v != 0
            return truth(v) is True
        except (ArithmeticError, TypeError, ValueError, OverflowError) as exc:
            raise _fail(rule, key, text, "cannot evaluate it on the row", exc) from exc

    return test


def _update_test(old: RowTest | None, new: RowTest | None) -> UpdateTest:
    if old is None:
        assert new is not None
        return lambda _before, after: new(after)
    if new is None:
        return lambda before, _after: old(before)
    return lambda before, after: old(before) and new(after)
