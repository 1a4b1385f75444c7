"""CAST/CONVERT to a type, and COLLATE: the value conversions and their nodes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dm.rules.expr.arithmetic import CTX, round_int
from dm.rules.expr.collations import BINARY_STRING, DEFAULT, EXPLICIT, Coll, coll_of
from dm.rules.expr.nodes import Builder, Handler, Node, Unsupported, make, sql, unary
from dm.rules.expr.values import (
    as_bytes,
    as_number,
    as_text,
    parse_number,
    to_date,
    to_datetime,
    to_time,
)


def _cast_int(v: Any) -> int:
    if isinstance(v, str | bytes | bytearray):  # strings truncate, numbers round
        return int(parse_number(as_text(v)))
    return round_int(v)


def _cast_unsigned(v: Any) -> int:
    return _cast_int(v) % (1 << 64)


def _cast_double(v: Any) -> float:
    return float(as_number(v))


def _decimal_caster(precision: int, scale: int) -> Callable[[Any], Decimal]:
    """CAST(v AS DECIMAL(precision, scale)): rounded, clamped to the type's range."""
    quantum = Decimal(1).scaleb(-scale)
    top = CTX.subtract(Decimal(10) ** (precision - scale), quantum)

    def cast(v: Any) -> Decimal:
        x = Decimal(as_number(v))
        if x.is_nan():
            return Decimal(0).quantize(quantum)
        if abs(x) > top:
            return top if x > 0 else -top
        return x.quantize(quantum, rounding=ROUND_HALF_UP, context=CTX)

    return cast


_CASTS: dict[str, tuple[Callable[[Any], Any], Coll | None]] = {
    "DATE": (to_date, None), "DATETIME": (to_datetime, None),
    "TIMESTAMP": (to_datetime, None), "TIMESTAMPTZ": (to_datetime, None),
    "TIMESTAMPLTZ": (to_datetime, None), "TIME": (to_time, None),
    "CHAR": (as_text, DEFAULT), "VARCHAR": (as_text, DEFAULT), "TEXT": (as_text, DEFAULT),
    "NCHAR": (as_text, DEFAULT), "NVARCHAR": (as_text, DEFAULT),
    "BINARY": (as_bytes, BINARY_STRING), "VARBINARY": (as_bytes, BINARY_STRING),
    "BIGINT": (_cast_int, None), "INT": (_cast_int, None), "UBIGINT": (_cast_unsigned, None),
    "UINT": (_cast_unsigned, None), "DOUBLE": (_cast_double, None),
    "FLOAT": (_cast_double, None),
}


def _cast(c: Builder, e: Any) -> Node:
    to = e.args["to"]
    kind = to.this.name if hasattr(to.this, "name") else str(to.this)
    if kind == "DECIMAL":
        params = [int(str(p.this.this)) for p in to.expressions]
        precision, scale = (params + [10, 0][len(params):])[:2]
        if not 0 < precision <= 65 or not 0 <= scale <= min(30, precision):
            raise Unsupported(f"{sql(e)}: bad DECIMAL precision or scale")
        return unary(_decimal_caster(precision, scale), coll=DEFAULT)(c, e)
    if kind not in _CASTS:
        raise Unsupported(f"{sql(e)}: cannot cast to {kind}")
    op, coll = _CASTS[kind]
    inner = c.arg(e, "this")
    f = inner.fn
    return make(lambda row: None if (v := f(row)) is None else op(v), [inner],
                inner.coll if coll is None else coll)


def _collate(c: Builder, e: Any) -> Node:
    inner = c.arg(e, "this")
    name = e.expression.name.lower() if hasattr(e.expression, "name") else str(e.expression)
    return Node(inner.fn, inner.const, coll_of(name, EXPLICIT))


HANDLERS: dict[str, Handler] = {"Cast": _cast, "Collate": _collate}
