"""Arithmetic as MySQL computes it: + - * / DIV MOD, unary minus, ABS, rounding to integers."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from dm.rules.expr.collations import DEFAULT
from dm.rules.expr.nodes import Builder, Handler, Node, Row, make, unary
from dm.rules.expr.values import as_number

CTX = Context(prec=96)  # wide enough for DECIMAL(65, 30) arithmetic
_DIV_INCREMENT = 4  # MySQL's div_precision_increment


def _operands(a: Any, b: Any) -> tuple[Any, Any, type]:
    x, y = as_number(a), as_number(b)
    if isinstance(x, float) or isinstance(y, float):
        return float(x), float(y), float
    if isinstance(x, Decimal) or isinstance(y, Decimal):
        return Decimal(x), Decimal(y), Decimal
    return x, y, int


def _add(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return CTX.add(x, y) if t is Decimal else x + y


def _sub(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return CTX.subtract(x, y) if t is Decimal else x - y


def _mul(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return CTX.multiply(x, y) if t is Decimal else x * y


def _div(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is float:
        return x / y
    dx = Decimal(x)
    exponent = dx.as_tuple().exponent
    scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    quotient = CTX.divide(dx, Decimal(y))
    return quotient.quantize(Decimal(1).scaleb(-(scale + _DIV_INCREMENT)),
                             rounding=ROUND_HALF_UP, context=CTX)


def _intdiv(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is int:
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q
    if t is float:
        return int(x / y)
    return int(CTX.divide_int(x, y))


def _mod(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is int:
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    if t is float:
        return math.fmod(x, y)
    return CTX.remainder(x, y)


def _neg(v: Any) -> Any:
    x = as_number(v)
    return CTX.minus(x) if isinstance(x, Decimal) else -x


def _abs(v: Any) -> Any:
    x = as_number(v)
    return CTX.abs(x) if isinstance(x, Decimal) else abs(x)


def round_int(v: Any) -> int:
    """To an integer as MySQL does for numeric arguments: round half away from zero."""
    x = as_number(v)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            return 0
        x = Decimal(x)
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))


def _binary_op(op: Callable[[Any, Any], Any]) -> Handler:
    def build(c: Builder, e: Any) -> Node:
        left, right = c.arg(e, "this"), c.arg(e, "expression")
        fa, fb = left.fn, right.fn

        def fn(row: Row) -> Any:
            a = fa(row)
            if a is None:
                return None
            b = fb(row)
            return None if b is None else op(a, b)

        return make(fn, [left, right])

    return build


HANDLERS: dict[str, Handler] = {
    "Add": _binary_op(_add), "Sub": _binary_op(_sub), "Mul": _binary_op(_mul),
    "Div": _binary_op(_div), "IntDiv": _binary_op(_intdiv), "Mod": _binary_op(_mod),
    "Neg": unary(_neg, coll=DEFAULT),
    "Abs": unary(_abs, coll=DEFAULT),
}
