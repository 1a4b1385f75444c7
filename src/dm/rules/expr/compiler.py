"""The compiler: a sqlglot expression to a `Node`, by the handler of each node type."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dm.rules.expr import arithmetic, casts, comparisons, logic, strings
from dm.rules.expr.collations import BINARY_STRING
from dm.rules.expr.nodes import NULL, Node, Unsupported, const, make, sql
from dm.rules.expr.values import INT_TEXT, HexBytes, as_bytes


class Compiler:
    """sqlglot expression -> `Node`, with columns resolved by `resolve`."""

    def __init__(self, resolve: Callable[[Any], Node]) -> None:
        self.resolve = resolve

    def node(self, e: Any) -> Node:
        handler = _HANDLERS.get(type(e).__name__)
        if handler is None:
            raise Unsupported(f"{sql(e)} is not supported")
        return handler(self, e)

    def arg(self, e: Any, name: str) -> Node:
        child = e.args.get(name)
        if child is None:
            raise Unsupported(f"{sql(e)}: missing argument")
        return self.node(child)


def _literal(c: Compiler, e: Any) -> Node:
    text = str(e.this)
    if e.is_string:
        return const(text)
    if INT_TEXT.fullmatch(text):
        return const(int(text))
    if "e" in text.lower():
        return const(float(text))
    return const(Decimal(text))


def _hex(c: Compiler, e: Any) -> Node:
    digits = str(e.this)
    return const(HexBytes(bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))),
                 BINARY_STRING)


def _bits(c: Compiler, e: Any) -> Node:
    digits = str(e.this) or "0"
    n = int(digits, 2)
    return const(HexBytes(n.to_bytes((len(digits) + 7) // 8, "big")), BINARY_STRING)


def _introducer(c: Compiler, e: Any) -> Node:
    inner = c.node(e.expression)
    charset = str(e.this).lower().lstrip("_")
    if charset == "binary":
        return make(lambda row: None if (v := inner.fn(row)) is None else as_bytes(v),
                    [inner], BINARY_STRING)
    return inner


def _paren(c: Compiler, e: Any) -> Node:
    return c.node(e.this)


_HANDLERS: dict[str, Callable[[Compiler, Any], Node]] = {
    "Paren": _paren,
    "Column": lambda c, e: c.resolve(e),
    "Literal": _literal,
    "Null": lambda c, e: NULL,
    "Boolean": lambda c, e: const(int(bool(e.this))),
    "HexString": _hex,
    "BitString": _bits,
    "National": lambda c, e: const(str(e.this)),
    "Introducer": _introducer,
    **comparisons.HANDLERS,
    **logic.HANDLERS,
    **arithmetic.HANDLERS,
    **strings.HANDLERS,
    **casts.HANDLERS,
}
