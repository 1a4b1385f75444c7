"""The one parse of an expression (sqlglot, MySQL dialect), shared by filters and config checks."""

from __future__ import annotations

from typing import Any

from dm.rules.expr.nodes import Unsupported

_ARITY: dict[str, tuple[int, int]] = {  # comma-separated argument counts the parser may drop
    "length": (1, 1), "octet_length": (1, 1), "char_length": (1, 1),
    "character_length": (1, 1), "lower": (1, 1), "lcase": (1, 1), "upper": (1, 1),
    "ucase": (1, 1), "abs": (1, 1), "ifnull": (2, 2), "if": (3, 3), "coalesce": (1, 1 << 30),
    "concat": (1, 1 << 30), "substring": (1, 3), "substr": (1, 3), "mid": (1, 3),
    "trim": (1, 1),
}


def _check_arity(sql: str) -> None:
    from sqlglot import Dialect, TokenType

    tokens = Dialect.get_or_raise("mysql").tokenize(sql)
    for i, tok in enumerate(tokens[:-1]):
        name = tok.text.lower()
        if (tok.token_type != TokenType.VAR or name not in _ARITY
                or tokens[i + 1].token_type != TokenType.L_PAREN):
            continue
        depth, args, empty = 0, 1, True
        for inner in tokens[i + 1:]:
            if inner.token_type == TokenType.L_PAREN:
                depth += 1
                if depth == 1:
                    continue
            elif inner.token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    break
            elif inner.token_type == TokenType.COMMA and depth == 1:
                args += 1
            empty = False
        count = 0 if empty else args
        low, high = _ARITY[name]
        if not low <= count <= high:
            raise Unsupported(f"{name.upper()} takes "
                              f"{low if low == high else f'{low} to {high}'} argument"
                              f"{'' if high == 1 else 's'}, not {count}")


def parse(expr: str) -> Any:
    """The one expression of `SELECT <expr>`, or Unsupported."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = sqlglot.parse(f"SELECT {expr}", read="mysql")
    except (ParseError, TokenError) as exc:
        raise Unsupported(str(exc).splitlines()[0]) from exc
    if len(statements) != 1 or statements[0] is None:
        raise Unsupported("not a single expression")
    select = statements[0]
    extra = [k for k, v in select.args.items() if v and k != "expressions"]
    if type(select).__name__ != "Select" or extra or len(select.expressions) != 1:
        raise Unsupported("not a single expression")
    node = select.expressions[0]
    if type(node).__name__ == "Alias":
        raise Unsupported(f"unexpected {node.args['alias'].name!r} after the expression")
    _check_arity(f"SELECT {expr}")
    return node


def expression_problem(expr: str) -> str | None:
    """Why `expr` is not one expression (what task.yaml's check reports, from the same
    parse as the filter's), or None."""
    try:
        parse(expr)
    except Unsupported as exc:
        return str(exc)
    return None
