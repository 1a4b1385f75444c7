"""Three-valued logic and control flow: AND, OR, XOR, NOT, IS, IF, IFNULL/COALESCE."""

from __future__ import annotations

from typing import Any

from dm.rules.expr.collations import combine
from dm.rules.expr.nodes import Builder, Handler, Node, Row, Unsupported, make, sql
from dm.rules.expr.values import truth


def _and(c: Builder, e: Any) -> Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = truth(fa(row))
        if x is False:
            return 0
        y = truth(fb(row))
        if y is False:
            return 0
        return None if x is None or y is None else 1

    return make(fn, [left, right])


def _or(c: Builder, e: Any) -> Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = truth(fa(row))
        if x is True:
            return 1
        y = truth(fb(row))
        if y is True:
            return 1
        return None if x is None or y is None else 0

    return make(fn, [left, right])


def _xor(c: Builder, e: Any) -> Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = truth(fa(row))
        if x is None:
            return None
        y = truth(fb(row))
        return None if y is None else int(x != y)

    return make(fn, [left, right])


def _not(c: Builder, e: Any) -> Node:
    inner = c.arg(e, "this")
    f = inner.fn

    def fn(row: Row) -> int | None:
        x = truth(f(row))
        return None if x is None else int(not x)

    return make(fn, [inner])


def _is(c: Builder, e: Any) -> Node:
    inner = c.arg(e, "this")
    f = inner.fn
    what = e.expression
    kind = type(what).__name__
    if kind == "Null":
        return make(lambda row: int(f(row) is None), [inner])
    if kind == "Boolean":
        want = bool(what.this)
        return make(lambda row: int(truth(f(row)) is want), [inner])
    raise Unsupported(f"{sql(e)}: IS takes NULL, TRUE, FALSE or UNKNOWN")


def _coalesce(c: Builder, e: Any) -> Node:
    parts = [c.arg(e, "this"), *(c.node(x) for x in e.expressions)]
    fns = [p.fn for p in parts]

    def fn(row: Row) -> Any:
        for f in fns:
            v = f(row)
            if v is not None:
                return v
        return None

    return make(fn, parts, combine(*(p.coll for p in parts)))


def _if(c: Builder, e: Any) -> Node:
    cond, yes, no = c.arg(e, "this"), c.arg(e, "true"), c.arg(e, "false")
    fc, fy, fn_ = cond.fn, yes.fn, no.fn

    def fn(row: Row) -> Any:
        return fy(row) if truth(fc(row)) is True else fn_(row)

    return make(fn, [cond, yes, no], combine(yes.coll, no.coll))


HANDLERS: dict[str, Handler] = {
    "And": _and, "Or": _or, "Xor": _xor, "Not": _not, "Is": _is,
    "Coalesce": _coalesce, "If": _if,
}
