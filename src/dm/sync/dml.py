"""SQL for row changes: per-table templates, WHERE choice, safe mode, multi-row batches.

`build_statements` turns the ordered changes of ONE downstream table into few
`(sql, args)` statements for PyMySQL (`%s` placeholders). The rules, with examples of
the SQL, are in docs/sync-dml.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from dm.db import quote
from dm.schema.table import TableInfo
from dm.sync.change import (
    DELETE,
    INSERT,
    UPDATE,
    IdentityKey,
    Row,
    RowChange,
    Target,
    identity_key,
    per_table,
)
from dm.sync.compact import compact as compact_changes

Statement = tuple[str, list[Any]]  # SQL with %s placeholders, its arguments

MAX_ROWS_PER_STATEMENT = 256
MAX_STATEMENT_BYTES = 1 << 20  # of long values per multi-row statement: well under
# max_allowed_packet even when escaping doubles them, and few copies of it per applier
_LONG_TYPES = frozenset({"varchar", "varbinary", "tinytext", "text", "mediumtext", "longtext",
                         "tinyblob", "blob", "mediumblob", "longblob", "json"})
_CACHE_LIMIT = 4096

# All-columns WHERE: FLOAT/DOUBLE match within this relative distance, not exactly,
# because a value that went through text (dump, load, another tool) may differ in its
# last digits: FLOAT is printed with 6 significant digits, DOUBLE with 15 or more.
_FLOAT_TOLERANCE = {"float": 1e-5, "double": 1e-13}

# Statement kinds, in the order a compacted batch is written (see _compacted_groups).
_DELETE_KEY, _DELETE_ROW, _UPDATE, _UPSERT, _REPLACE, _INSERT = range(6)


def _name(name: str) -> str:
    """A quoted identifier safe inside a PyMySQL format string."""
    return quote(name).replace("%", "%%")


class _Plan:
    """SQL templates of one upstream table version written to one downstream table."""

    __slots__ = ("all_where", "delete_head", "insert_head", "key", "key_in_head", "key_ph",
                 "key_where", "long", "pick", "placeholders", "replace_head", "row_ph",
                 "set_head", "table_info", "target", "unique_keys", "upsert_tail")

    def __init__(self, info: TableInfo, target: Target) -> None:
        self.table_info = info
        self.target = target
        table = _name(target[0]) + "." + _name(target[1])
        writable = [i for i, c in enumerate(info.columns) if not c.generated]
        names = [_name(info.columns[i].name) for i in writable]
        self.pick = _picker(writable, len(info.columns))
        self.long = tuple(i for i in writable if info.columns[i].type_name in _LONG_TYPES)
        self.row_ph = "(" + ",".join(["%s"] * len(writable)) + ")"
        self.placeholders: dict[int, str] = {}
        column_list = " (" + ",".join(names) + ") VALUES "
        self.insert_head = "INSERT INTO " + table + column_list
        self.replace_head = "REPLACE INTO " + table + column_list
        self.set_head = ("UPDATE " + table + " SET " + ",".join(n + "=%s" for n in names)
                         + " WHERE ")
        self.delete_head = "DELETE FROM " + table + " WHERE "
        self.all_where = tuple((_name(info.columns[i].name), i,
                                _FLOAT_TOLERANCE.get(info.columns[i].type_name, 0.0))
                               for i in writable)
        key = identity_key(info)
        self.key: IdentityKey | None = key
        uniques = info.unique_keys
        self.unique_keys = tuple(
            (tuple(info.position(c) for c in index.columns),
             " AND ".join(_name(c) + "=%s" for c in index.columns)) for index in uniques)
        self.key_where = self.key_in_head = self.key_ph = ""
        self.upsert_tail: str | None = None
        if key is not None:
            key_names = [_name(info.columns[p].name) for p in key.positions]
            self.key_where = " AND ".join(n + "=%s" for n in key_names)
            lhs = key_names[0] if len(key_names) == 1 else "(" + ",".join(key_names) + ")"
            self.key_in_head = self.delete_head + lhs + " IN ("
            self.key_ph = "%s" if len(key_names) == 1 else "(" + ",".join(
                ["%s"] * len(key_names)) + ")"
            if len(uniques) == 1:  # with another unique key an upsert could hit another row
                kept = set(key.positions)
                assigned = [n for i, n in zip(writable, names, strict=True)
                            if i not in kept] or key_names[:1]
                self.upsert_tail = " ON DUPLICATE KEY UPDATE " + ",".join(
                    f"{n}=VALUES({n})" for n in assigned)

    def values_sql(self, rows: int) -> str:
        text = self.placeholders.get(rows)
        if text is None:
            text = self.placeholders[rows] = ",".join([self.row_ph] * rows)
        return text

    def values(self, rows: Sequence[Row]) -> list[Any]:
        pick = self.pick
        if pick is None:
            return list(chain.from_iterable(rows))
        return list(chain.from_iterable(map(pick, rows)))

    def where(self, row: Row) -> tuple[str, list[Any]]:
        """The WHERE that finds `row`: identity key, a non-NULL unique key, or all columns
        (then ordered so that, of near-equal FLOAT/DOUBLE rows, `LIMIT 1` takes the
        exact one, else the nearest)."""
        key = self.key
        if key is not None:
            return self.key_where, [row[p] for p in key.positions]
        for positions, text in self.unique_keys:
            values = [row[p] for p in positions]
            if None not in values:
                return text, values
        parts: list[str] = []
        args: list[Any] = []
        nearest: list[str] = []  # float distances: the exact row first, else the nearest
        near_args: list[float] = []
        for name, p, tolerance in self.all_where:
            value = row[p]
            if value is None:
                parts.append(name + " IS NULL")
            elif tolerance and isinstance(value, float) and value:
                delta = abs(value) * tolerance
                parts.append(name + " BETWEEN %s AND %s")
                args += (value - delta, value + delta)
                nearest.append(f"ABS({name}-%s)")
                near_args.append(value)
            else:
                parts.append(name + "=%s")
                args.append(value)
        order = " ORDER BY " + "+".join(nearest) if nearest else ""
        return " AND ".join(parts) + order, args + near_args


def _picker(writable: list[int], width: int) -> Callable[[Row], Sequence[Any]] | None:
    """None when every column is written, else a function picking the written ones."""
    if len(writable) == width:
        return None
    if len(writable) == 1:
        only = writable[0]
        return lambda row: (row[only],)
    return itemgetter(*writable)


_plans: dict[int, _Plan] = {}


def _plan(info: TableInfo, target: Target) -> _Plan:
    plan = _plans.get(id(info))
    if plan is None or plan.table_info is not info or plan.target != target:
        if len(_plans) >= _CACHE_LIMIT:
            _plans.clear()
        plan = _plans[id(info)] = _Plan(info, target)
    return plan


# --- grouping: changes to (statement kind, plan, payloads) ------------------------------

Group = tuple[int, _Plan, list[Any]]


def _ordered_groups(changes: Sequence[RowChange], safe: bool) -> list[Group]:
    """Statements in change order; consecutive ones of the same kind share a group."""
    groups: list[Group] = []
    last_kind, last_plan, payloads = -1, None, None

    def add(kind: int, plan: _Plan, payload: Any) -> None:
        nonlocal last_kind, last_plan, payloads
        if kind == last_kind and plan is last_plan and payloads is not None:
            payloads.append(payload)
            return
        payloads = [payload]
        last_kind, last_plan = kind, plan
        groups.append((kind, plan, payloads))

    info, plan = None, None
    for change in changes:
        if change.table is not info:
            info = change.table
            plan = _plan(info, change.target)
        assert plan is not None
        for kind, payload in _statements_of(change, plan, safe):
            add(kind, plan, payload)
    return groups


def _statements_of(change: RowChange, plan: _Plan, safe: bool) -> list[tuple[int, Any]]:
    key = plan.key
    kind = change.kind
    if kind is DELETE:
        return [_delete(plan, change.before)]
    if kind is INSERT:
        return [(_REPLACE if safe else _INSERT, change.after)]
    if kind is UPDATE:
        same_key = key is not None and key.of(change.before) == key.of(change.after)
        if not safe:
            if same_key and plan.upsert_tail is not None:
                return [(_UPSERT, change.after)]
            return [(_UPDATE, (change.before, change.after))]
        if same_key:  # REPLACE finds and removes the old row through the key
            return [(_REPLACE, change.after)]
        return [_delete(plan, change.before), (_REPLACE, change.after)]
    return [(_REPLACE, change.after)]


def _delete(plan: _Plan, row: Row | None) -> tuple[int, Any]:
    assert row is not None
    key = plan.key
    if key is None:
        return (_DELETE_ROW, row)
    return (_DELETE_KEY, key.of(row))


def _compacted_groups(nets: list[RowChange], safe: bool) -> list[Group]:
    """After compaction each key has one net change, so statements can be regrouped by
    kind: deletes first (they free keys), then updates, replaces, inserts."""
    buckets: dict[tuple[int, int], Group] = {}
    info, plan = None, None
    for change in nets:
        if change.table is not info:
            info = change.table
            plan = _plan(info, change.target)
        assert plan is not None
        for kind, payload in _statements_of(change, plan, safe):
            bucket = buckets.get((kind, id(plan)))
            if bucket is None:
                bucket = buckets[(kind, id(plan))] = (kind, plan, [])
            bucket[2].append(payload)
    return [buckets[k] for k in sorted(buckets, key=itemgetter(0))]


# --- rendering: groups to statements ----------------------------------------------------

def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    if len(items) <= size:
        yield items
        return
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _statement_rows(plan: _Plan, rows: list[Row], size: int) -> Iterator[list[Row]]:
    """Runs of at most `size` rows, cut sooner where long values pass
    MAX_STATEMENT_BYTES (a row alone always makes a statement)."""
    if not plan.long:
        yield from _chunks(rows, size)
        return
    run: list[Row] = []
    total = 0
    for row in rows:
        width = sum(len(v) for v in map(row.__getitem__, plan.long)
                    if isinstance(v, (str, bytes)))
        if run and (len(run) >= size or total + width > MAX_STATEMENT_BYTES):
            yield run
            run, total = [], 0
        run.append(row)
        total += width
    if run:
        yield run


def _render(kind: int, plan: _Plan, payloads: list[Any], size: int) -> Iterator[Statement]:
    if kind == _DELETE_KEY:
        yield from _render_delete_keys(plan, payloads, size)
    elif kind == _DELETE_ROW:
        for row in payloads:
            where, args = plan.where(row)
            yield plan.delete_head + where + " LIMIT 1", args
    elif kind == _UPDATE:
        for before, after in payloads:
            where, args = plan.where(before)
            yield plan.set_head + where + " LIMIT 1", plan.values((after,)) + args
    else:
        head = plan.insert_head if kind != _REPLACE else plan.replace_head
        tail = plan.upsert_tail if kind == _UPSERT else ""
        for rows in _statement_rows(plan, payloads, size):
            yield head + plan.values_sql(len(rows)) + (tail or ""), plan.values(rows)


def _render_delete_keys(plan: _Plan, keys: list[Any], size: int) -> Iterator[Statement]:
    assert plan.key is not None
    single = len(plan.key.positions) == 1
    for part in _chunks(keys, size):
        args = list(part) if single else list(chain.from_iterable(part))
        if len(part) == 1:
            yield plan.delete_head + plan.key_where + " LIMIT 1", args
        else:
            yield plan.key_in_head + ",".join([plan.key_ph] * len(part)) + ")", args


@per_table
def _has_second_unique_key(info: TableInfo) -> bool:
    return len(info.unique_keys) > 1


def _unique_values_may_move(changes: Sequence[RowChange]) -> bool:
    """Whether a normal-mode batch must keep its order: regrouped by kind, the net changes
    of a table with a unique key besides its identity key can take a unique value before
    the change that frees it runs (1062). Safe mode's REPLACE never meets that."""
    info = None
    for change in changes:
        if change.table is not info:
            info = change.table
            if _has_second_unique_key(info):
                return True
    return False


def build_statements(changes: Sequence[RowChange], safe_mode: bool, *, compact: bool = True,
                     multiple_rows: bool = True) -> list[Statement]:
    """The statements that apply `changes` (ordered, all for ONE downstream table).

    `compact` merges changes per identity key first (compact.py), which lets statements
    be regrouped by kind; keyless tables keep their order, and so do tables with a second
    unique key in normal mode. `multiple_rows` writes runs of
    INSERT/REPLACE/upsert rows and key deletes as multi-row statements.
    """
    if not changes:
        return []
    nets = (compact_changes(changes)
            if compact and (safe_mode or not _unique_values_may_move(changes)) else None)
    groups = (_compacted_groups(nets, safe_mode) if nets is not None
              else _ordered_groups(changes, safe_mode))
    size = MAX_ROWS_PER_STATEMENT if multiple_rows else 1
    out: list[Statement] = []
    for kind, plan, payloads in groups:
        out.extend(_render(kind, plan, payloads, size))
    return out


__all__ = ["MAX_ROWS_PER_STATEMENT", "Statement", "build_statements"]
