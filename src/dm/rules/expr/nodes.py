"""Compiled nodes: closures over the row tuple, constant folding, what a builder sees."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from dm.rules.expr.collations import DEFAULT, Coll

Row = tuple[Any, ...]
Fn = Callable[[Row], Any]


class Unsupported(Exception):
    """Compile-time problem with an expression; becomes a coded DMError."""


class Node(NamedTuple):
    fn: Fn
    const: bool = False
    coll: Coll = DEFAULT  # how its strings compare


def const(value: Any, coll: Coll = DEFAULT) -> Node:
    return Node(lambda _row: value, True, coll)


NULL = const(None)


def make(fn: Fn, children: Sequence[Node], coll: Coll = DEFAULT) -> Node:
    """A node; folded to a constant when every input is one."""
    if all(c.const for c in children):
        try:
            return const(fn(()), coll)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise Unsupported(f"cannot evaluate a constant part: {exc}") from exc
    return Node(fn, False, coll)


class Builder(Protocol):
    """What a node's builder asks of the compiler: the nodes of the expression's parts."""

    def node(self, e: Any) -> Node: ...
    def arg(self, e: Any, name: str) -> Node: ...


Handler = Callable[[Builder, Any], Node]  # builds the node of one sqlglot expression type


def sql(e: Any) -> str:
    try:
        return str(e.sql(dialect="mysql"))
    except Exception:  # noqa: BLE001 - only for the message
        return type(e).__name__


def unary(op: Callable[[Any], Any], *, coll: Coll | None = None,
          arg: str = "this") -> Handler:
    """A NULL-propagating function of one argument; coll None keeps the argument's."""

    def build(c: Builder, e: Any) -> Node:
        inner = c.arg(e, arg)
        f = inner.fn
        return make(lambda row: None if (v := f(row)) is None else op(v), [inner],
                    inner.coll if coll is None else coll)

    return build
