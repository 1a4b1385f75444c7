"""Comparison predicates: = <> < <= > >= <=>, IN, BETWEEN and LIKE."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from dm.rules.expr.collations import Coll, Key, combine, compare, const_key, like_regex, order
from dm.rules.expr.nodes import Builder, Handler, Node, Row, Unsupported, make, sql
from dm.rules.expr.values import NoKey, as_bytes, as_text

Against = Callable[[Any, Row], int | None]  # sign of compare(a, <other side>) or None


# Types whose values of the same type compare directly in their domain.
_DIRECT = frozenset({int, float, Decimal, bytes, date, datetime, timedelta})


def _against(right: Node, coll: Coll) -> Against:
    """Compare a given non-NULL value `a` with `right`'s value on the row."""
    if right.const:
        b = right.fn(())
        if b is None:
            return lambda _a, _row: None
        memo: dict[type, tuple[Key, Any]] = {}

        def vs_const(a: Any, _row: Row) -> int | None:
            hit = memo.get(type(a))
            if hit is None:
                hit = memo[type(a)] = const_key(a, b, coll)
            key, kb = hit
            try:
                ka = key(a)
            except NoKey:
                return compare(a, b, coll)
            return order(ka, kb)

        tb = type(b)
        if tb in _DIRECT:  # the hot path: a column of the constant's own type

            def vs_same(a: Any, row: Row) -> int | None:
                if type(a) is tb:
                    return (a > b) - (a < b)  # type: ignore[no-any-return]
                return vs_const(a, row)

            return vs_same
        if tb is str:
            kb_text: str = coll.text_key(b)
            fold = coll.key

            def vs_text(a: Any, row: Row) -> int | None:
                if type(a) is str:
                    ka = fold(a)
                    return (ka > kb_text) - (ka < kb_text)
                return vs_const(a, row)

            return vs_text
        return vs_const
    fb = right.fn

    def vs(a: Any, row: Row) -> int | None:
        b = fb(row)
        return None if b is None else compare(a, b, coll)

    return vs


_SIGNS: dict[str, frozenset[int]] = {
    "EQ": frozenset({0}), "NEQ": frozenset({-1, 1}), "LT": frozenset({-1}),
    "LTE": frozenset({-1, 0}), "GT": frozenset({1}), "GTE": frozenset({0, 1}),
}

_DEFAULT_ESCAPE = "\\"


def _comparison(op: str) -> Handler:
    def build(c: Builder, e: Any) -> Node:
        left, right = c.arg(e, "this"), c.arg(e, "expression")
        coll = combine(left.coll, right.coll)
        ok = _SIGNS[op]
        if left.const and not right.const:  # keep the constant on the right
            left, right = right, left
            ok = frozenset(-s for s in ok)
        fa, against = left.fn, _against(right, coll)

        def fn(row: Row) -> int | None:
            a = fa(row)
            if a is None:
                return None
            s = against(a, row)
            return None if s is None else int(s in ok)

        return make(fn, [left, right], coll)

    return build


def _null_safe_eq(c: Builder, e: Any) -> Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    coll = combine(left.coll, right.coll)
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int:
        a, b = fa(row), fb(row)
        if a is None or b is None:
            return int(a is None and b is None)
        return int(compare(a, b, coll) == 0)

    return make(fn, [left, right])


def _in(c: Builder, e: Any) -> Node:
    if e.args.get("query") or e.args.get("unnest") or e.args.get("field"):
        raise Unsupported(f"{sql(e)}: only IN (value, ...) is supported")
    items = [c.node(x) for x in e.expressions]
    if not items:
        raise Unsupported(f"{sql(e)}: IN needs at least one value")
    left = c.arg(e, "this")
    coll = combine(left.coll, *(i.coll for i in items))
    fa = left.fn
    tests = [_against(i, coll) for i in items]

    def fn(row: Row) -> int | None:
        a = fa(row)
        if a is None:
            return None
        saw_null = False
        for test in tests:
            s = test(a, row)
            if s == 0:
                return 1
            if s is None:
                saw_null = True
        return None if saw_null else 0

    return make(fn, [left, *items])


def _between(c: Builder, e: Any) -> Node:
    left, low, high = c.arg(e, "this"), c.arg(e, "low"), c.arg(e, "high")
    coll = combine(left.coll, low.coll, high.coll)
    fa, lo, hi = left.fn, _against(low, coll), _against(high, coll)

    def fn(row: Row) -> int | None:
        a = fa(row)
        if a is None:
            return None
        s = lo(a, row)
        if s is not None and s < 0:
            return 0
        t = hi(a, row)
        if t is not None and t > 0:
            return 0
        return None if s is None or t is None else 1

    return make(fn, [left, low, high])


def _like_node(c: Builder, like: Any, escape: Any | None) -> Node:
    subject, pattern = c.arg(like, "this"), c.arg(like, "expression")
    esc = _DEFAULT_ESCAPE
    if escape is not None:
        esc_node = c.node(escape)
        value = esc_node.fn(()) if esc_node.const else None
        if not esc_node.const or not isinstance(value, str) or len(value) > 1:
            raise Unsupported(f"{sql(escape)}: ESCAPE takes one constant character")
        esc = value
    coll = combine(subject.coll, pattern.coll)
    ci = not coll.binary
    fold = coll.char_key if ci else None
    negate = bool(like.args.get("negate"))
    fs, fp = subject.fn, pattern.fn
    fixed = None
    if pattern.const:
        p = fp(())
        if p is not None and not isinstance(p, bytes | bytearray):
            fixed = like_regex(as_text(p), esc, ci and not fold, fold)

    def fn(row: Row) -> int | None:
        s = fs(row)
        if s is None:
            return None
        p = fp(row)
        if p is None:
            return None
        if isinstance(s, bytes | bytearray) or isinstance(p, bytes | bytearray):
            hit = like_regex(as_bytes(p), esc, False).fullmatch(as_bytes(s)) is not None
        else:
            rx = fixed if fixed is not None else like_regex(as_text(p), esc, ci and not fold,
                                                            fold)
            text = as_text(s)
            hit = rx.fullmatch(fold(text) if fold else text) is not None
        return int(hit != negate)

    return make(fn, [subject, pattern])


def _like(c: Builder, e: Any) -> Node:
    return _like_node(c, e, None)


def _escape(c: Builder, e: Any) -> Node:
    like = e.this
    if type(like).__name__ != "Like":
        raise Unsupported(f"{sql(e)}: ESCAPE only follows LIKE")
    return _like_node(c, like, e.expression)


HANDLERS: dict[str, Handler] = {
    "EQ": _comparison("EQ"), "NEQ": _comparison("NEQ"), "LT": _comparison("LT"),
    "LTE": _comparison("LTE"), "GT": _comparison("GT"), "GTE": _comparison("GTE"),
    "NullSafeEQ": _null_safe_eq,
    "In": _in, "Between": _between, "Like": _like, "Escape": _escape,
}
