"""A MySQL/MariaDB tokeniser for DDL: words, quoted names, strings, numbers, punctuation.

Comments are dropped, except executable comments (`/*! ... */`, `/*!50100 ... */`,
`/*M!100100 ... */`) whose contents are tokenised as if the comment markers were not there,
as the server does. Every token keeps its character span in the original text so callers
can rewrite names in place without regenerating the rest of the statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class T(Enum):
    WORD = "word"  # keyword or unquoted identifier
    QUOTED = "quoted"  # `identifier` (or "identifier" under ANSI_QUOTES)
    STRING = "string"  # 'text' (or "text")
    NUMBER = "number"
    VARIABLE = "variable"  # @x, @@x
    PUNCT = "punct"


@dataclass(frozen=True)
class Token:
    kind: T
    text: str  # as written
    value: str  # unquoted identifier / unescaped string / upper-cased word / punctuation
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind is T.WORD and self.value in words

    @property
    def is_name(self) -> bool:
        return self.kind in (T.WORD, T.QUOTED)


class LexError(ValueError):
    """The text is not a sequence of MySQL tokens (unterminated quote or comment)."""


_VERSIONED = re.compile(r"/\*M?!(\d{5,6})?")
_NUMBER = re.compile(r"(0x[0-9a-fA-F]+|0b[01]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)")
_VARIABLE = re.compile(r"@@?([A-Za-z0-9_$.]+|`[^`]*`|'[^']*')")
_WORD = re.compile(r"[A-Za-z0-9_$\x80-\U0010FFFF]+")
_PUNCT2 = ("<=>", "<=", ">=", "<>", "!=", ":=", "||", "&&", "<<", ">>", "->>", "->")
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def tokenize(sql: str, *, ansi_quotes: bool = False) -> list[Token]:
    """All tokens of `sql`; raises LexError on an unterminated quote or comment."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif c == "#" or (sql.startswith("--", i) and (i + 2 == n or sql[i + 2].isspace())):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            i = _comment(sql, i)
        elif sql.startswith("*/", i):  # the end of an executable comment
            i += 2
        elif c == "`" or (c == '"' and ansi_quotes):
            i = _quoted(sql, i, c, T.QUOTED, tokens)
        elif c in "'\"":
            i = _quoted(sql, i, c, T.STRING, tokens)
        elif c == "@":
            m = _VARIABLE.match(sql, i)
            end = m.end() if m else i + 1
            tokens.append(Token(T.VARIABLE, sql[i:end], sql[i:end], i, end))
            i = end
        else:
            i = _plain(sql, i, tokens)
    return tokens


def _comment(sql: str, i: int) -> int:
    m = _VERSIONED.match(sql, i)
    if m:  # executable comment: keep going inside it; its "*/" is skipped on its own
        return m.end()
    end = sql.find("*/", i + 2)
    if end < 0:
        raise LexError(f"unterminated comment at offset {i}")
    return end + 2


def _quoted(sql: str, i: int, quote: str, kind: T, out: list[Token]) -> int:
    j, parts = i + 1, []
    while True:
        k = sql.find(quote, j) if kind is T.QUOTED else _string_end(sql, j, quote)
        if k < 0:
            raise LexError(f"unterminated {quote} quote at offset {i}")
        parts.append(sql[j:k])
        if k + 1 < len(sql) and sql[k + 1] == quote:  # doubled quote
            parts.append(quote)
            j = k + 2
            continue
        text = "".join(parts)
        value = text if kind is T.QUOTED else _unescape(text)
        out.append(Token(kind, sql[i:k + 1], value, i, k + 1))
        return k + 1


def _string_end(sql: str, j: int, quote: str) -> int:
    while j < len(sql):
        c = sql[j]
        if c == "\\":
            j += 2
        elif c == quote:
            return j
        else:
            j += 1
    return -1


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text, flags=re.S)


def _plain(sql: str, i: int, out: list[Token]) -> int:
    m = _NUMBER.match(sql, i)
    w = _WORD.match(sql, i)
    if m and (not w or m.end() >= w.end()):
        out.append(Token(T.NUMBER, m.group(), m.group(), i, m.end()))
        return m.end()
    if w:
        out.append(Token(T.WORD, w.group(), w.group().upper(), i, w.end()))
        return w.end()
    for p in _PUNCT2:
        if sql.startswith(p, i):
            out.append(Token(T.PUNCT, p, p, i, i + len(p)))
            return i + len(p)
    out.append(Token(T.PUNCT, sql[i], sql[i], i, i + 1))
    return i + 1


def quote_name(name: str) -> str:
    """`name` with backticks, any backtick inside doubled."""
    return "`" + name.replace("`", "``") + "`"


def split_statements(text: str) -> list[str]:
    """The `;`-separated statements of a SQL script (quotes and comments respected; no
    DELIMITER support). Statements are returned stripped, empty ones dropped."""
    out: list[str] = []
    start = 0
    for tok in tokenize(text):
        if tok.kind is T.PUNCT and tok.value == ";":
            out.append(text[start:tok.start])
            start = tok.end
    out.append(text[start:])
    return [s.strip() for s in out if _has_tokens(s)]


def _has_tokens(text: str) -> bool:
    return bool(text.strip()) and bool(tokenize(text))
