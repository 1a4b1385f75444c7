"""A column's DEFAULT and generation expression as one canonical text, so that the same
definition compares equal however it was written: in the shard's own DDL (`DEFAULT 0`,
`AS (id+1)`) or as SHOW CREATE TABLE prints it in a dump (`DEFAULT '0'`, `AS (`id` + 1)`).

The text is valid SQL (the tracked schema is rendered back as CREATE TABLE): a string
literal quoted, a number as a number, an expression with lower-case words, names
unquoted where they may be, and spaces only around operators.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from dm.schema.lexer import T, Token

NUMERIC_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "bigint", "decimal",
                           "float", "double", "year"})
_TEMPORAL_TYPES = frozenset({"datetime", "timestamp", "time"})
_ZERO = {"datetime": "0000-00-00 00:00:00", "timestamp": "0000-00-00 00:00:00",
         "time": "00:00:00", "date": "0000-00-00"}
_INTEGER = re.compile(r"\d+")
_NOW = frozenset({"CURRENT_TIMESTAMP", "NOW", "LOCALTIME", "LOCALTIMESTAMP"})
_BARE_NAME = re.compile(r"[a-z_$][a-z0-9_$]*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOURS_MINUTES = re.compile(r"(.* )?-?\d+:\d{2}")
_SPELLING = {"lower": "lcase", "upper": "ucase"}  # as MariaDB prints them back


def canonical_default(tokens: Sequence[Token], type_name: str) -> str | None:
    """The DEFAULT of a column of `type_name`; None for `DEFAULT NULL`, as for none."""
    tokens = _without_introducers(tokens)
    if len(tokens) == 1 and tokens[0].is_word("NULL"):
        return None
    literal = _literal(tokens)
    if literal is None:
        return _now(tokens) or _bits(tokens, type_name) or canonical_expression(tokens)
    if type_name == "bit" and _INTEGER.fullmatch(literal):  # printed as b'101'
        return f"b'{int(literal):b}'"
    if literal.startswith("0x"):  # a hex literal: a number, or the bytes of a string
        if type_name in NUMERIC_TYPES:
            return str(int(literal, 16))
        digits = literal[2:]
        return sql_string(bytes.fromhex("0" * (len(digits) % 2) + digits).decode(
            "utf-8", "replace"))
    if type_name in _TEMPORAL_TYPES | {"date"} and literal == "0":
        return sql_string(_ZERO[type_name])
    if type_name in NUMERIC_TYPES:
        try:
            number = Decimal(literal)
        except InvalidOperation:
            pass
        else:  # 1, '1', 1.00, 1e0 alike; never an exponent
            return "0" if number.is_zero() else format(number.normalize(), "f")
    if type_name in _TEMPORAL_TYPES:
        literal = _temporal(literal)
    return sql_string(literal)


def canonical_expression(tokens: Sequence[Token]) -> str:
    """An expression's tokens as canonical text: `` `id`+1 ``, `ID + 1` and MySQL's
    `` (`id` + 1) `` all give `id + 1`."""
    tokens = _without_introducers(tokens)
    while len(tokens) > 2 and tokens[0].value == "(" and _closes_at_end(tokens):
        tokens = tokens[1:-1]
    out: list[str] = []
    prev: Token | None = None
    for i, tok in enumerate(tokens):
        text = _token_text(tok)
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        called = tok.kind is T.WORD and following is not None and following.value == "("
        if tok.is_word(*_NOW):  # NOW(), LOCALTIME... as MariaDB prints them
            text = "current_timestamp" + ("" if called else "()")
        elif called:
            text = _SPELLING.get(text, text)
        tight = prev is None or (prev.kind is T.PUNCT and prev.value in ("(", ".")) or (
            tok.kind is T.PUNCT and tok.value in (")", ",", ".")) or (
            tok.kind is T.PUNCT and tok.value == "(" and prev.kind in (T.WORD, T.QUOTED)) or (
            tok.kind is T.STRING and prev.kind is T.WORD)  # b'01', x'ff', DATE'2020-01-01'
        out.append(text if tight else " " + text)
        prev = tok
    return "".join(out)


def _without_introducers(tokens: Sequence[Token]) -> list[Token]:
    """No charset introducers: `_utf8mb4'x'` is `'x'`."""
    return [t for i, t in enumerate(tokens)
            if not (t.kind is T.WORD and t.value.startswith("_") and i + 1 < len(tokens)
                    and tokens[i + 1].kind is T.STRING)]


def _closes_at_end(tokens: Sequence[Token]) -> bool:
    """The `(` that opens `tokens` is closed by its last token."""
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.kind is T.PUNCT and tok.value in "()":
            depth += 1 if tok.value == "(" else -1
            if depth == 0:
                return i == len(tokens) - 1
    return False


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _bits(tokens: Sequence[Token], type_name: str) -> str | None:
    """A BIT column's `b'0101'` as MariaDB prints it (`b'101'`)."""
    if type_name == "bit" and len(tokens) == 2 and tokens[0].is_word("B") and \
            tokens[1].kind is T.STRING and set(tokens[1].value) <= {"0", "1"} and \
            tokens[1].value:
        return f"b'{int(tokens[1].value, 2):b}'"
    return None


def _literal(tokens: Sequence[Token]) -> str | None:
    """A string, TRUE/FALSE or a signed number's text; None for anything else."""
    if len(tokens) == 1 and tokens[0].is_word("TRUE", "FALSE"):
        return "1" if tokens[0].value == "TRUE" else "0"
    if len(tokens) == 1 and tokens[0].kind is T.STRING:
        return tokens[0].value
    if tokens and all(t.kind is T.STRING for t in tokens):  # 'a' 'b' concatenation
        return "".join(t.value for t in tokens)
    sign = ""
    rest = list(tokens)
    while rest and rest[0].kind is T.PUNCT and rest[0].value in "+-":
        sign = "-" if (rest[0].value == "-") != (sign == "-") else ""
        rest.pop(0)
    if len(rest) == 1 and rest[0].kind is T.NUMBER and not rest[0].value.startswith("0b"):
        return sign + rest[0].value if not sign or not rest[0].value.startswith("0x") \
            else None
    return None


def _temporal(literal: str) -> str:
    """A date-time or time as the server stores it: '2020-01-01' for a DATETIME is
    '2020-01-01 00:00:00', '10:00' is '10:00:00', no fraction of zeros."""
    if _DATE_ONLY.fullmatch(literal):
        literal += " 00:00:00"
    elif _HOURS_MINUTES.fullmatch(literal):
        literal += ":00"
    whole, dot, fraction = literal.partition(".")
    return whole + (dot + fraction).rstrip("0").rstrip(".") if dot else literal


def _now(tokens: Sequence[Token]) -> str | None:
    """CURRENT_TIMESTAMP, NOW(), LOCALTIME... with their precision, as MariaDB prints them."""
    if not tokens or not tokens[0].is_word(*_NOW):
        return None
    rest = [t.value for t in tokens[1:]]
    if rest in ([], ["(", ")"]):
        return "current_timestamp()"
    if len(rest) == 3 and rest[0] == "(" and rest[2] == ")" and rest[1].isdigit():
        return f"current_timestamp({rest[1]})"
    return None


def _token_text(tok: Token) -> str:
    if tok.kind is T.STRING:
        return sql_string(tok.value)
    if tok.kind in (T.WORD, T.QUOTED):
        name = tok.value.lower() if tok.kind is T.QUOTED else tok.text.lower()
        return name if _BARE_NAME.fullmatch(name) else "`" + name.replace("`", "``") + "`"
    return tok.text
