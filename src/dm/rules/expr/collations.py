"""How two values compare: their comparison domain, the collation (`Coll`) that wins, LIKE."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from dm.core.collation import char_key, exact_key
from dm.rules.expr.values import HexBytes, NoKey, as_bytes, as_number, as_text, dt_key, time_key

Key = Callable[[Any], Any]


# Value categories, and the domain (plus a fallback) two categories compare in.
_N, _S, _B, _D, _DT, _T = "num", "str", "bytes", "date", "datetime", "time"
_CATS: dict[type, str] = {int: _N, bool: _N, float: _N, Decimal: _N, str: _S, bytes: _B,
                          HexBytes: _B, bytearray: _B, datetime: _DT, date: _D,
                          timedelta: _T}


def _cat(v: Any) -> str:
    c = _CATS.get(type(v))
    if c is not None:
        return c
    for t, cat in _CATS.items():  # subclasses
        if isinstance(v, t) and not (t is date and isinstance(v, datetime)):
            return cat
    return _S


def _domain(ca: str, cb: str) -> tuple[str, str]:
    pair = {ca, cb}
    if len(pair) == 1:
        return {_D: (_DT, _S)}.get(ca, (ca, _S))
    if _N in pair and pair <= {_N, _S, _B}:
        return _N, _N
    if pair == {_S, _B}:
        return _B, _B
    temporal = pair & {_D, _DT}
    if temporal and pair <= {_D, _DT, _S, _B}:
        return _DT, _S
    if temporal and _N in pair:
        return _DT, _N
    if _T in pair and pair <= {_T, _S, _B}:
        return _T, _S
    if pair == {_T, _N}:
        return _T, _N
    return _N, _N  # a date against a time: as numbers, as MySQL's last resort


_DOMAINS: dict[tuple[str, str], tuple[str, str]] = {
    (a, b): _domain(a, b) for a in (_N, _S, _B, _D, _DT, _T) for b in (_N, _S, _B, _D, _DT, _T)
}


def _ci_fold(text: str) -> str:
    return text.rstrip(" ").casefold()


def _cs_fold(text: str) -> str:
    return text.rstrip(" ")


class Coll:
    """How strings compare: `key` gives equal keys to strings that compare equal, in their
    order. `rank` says which side's collation a comparison takes, as MySQL's coercibility
    does (reversed): a literal's default < a column's collation < a binary collation <
    an explicit COLLATE < a binary string."""

    __slots__ = ("binary", "char_key", "key", "rank", "text_key")

    def __init__(self, rank: int, key: Callable[[str], str], binary: bool = False,
                 char_key: Callable[[str], str] | None = None) -> None:
        self.rank = rank
        self.key = key
        self.binary = binary
        self.char_key = char_key  # LIKE's per-character key, where the collation has one
        self.text_key: Key = lambda v: key(as_text(v))


DEFAULT = Coll(0, _ci_fold)  # a literal's: case-insensitive, PAD SPACE
COLUMN, _BINARY_COLLATION, EXPLICIT = 2, 5, 10
BINARY_STRING = Coll(20, _cs_fold, True)


def _binary_collation(name: str | None) -> bool:
    name = (name or "").lower()
    return name == "binary" or name.endswith(("_bin", "_cs"))


def coll_of(collation: str | None, rank: int) -> Coll:
    """A collation's comparison: exact keys where pydm has the server's weights
    (dm.core.collation), else case-insensitive or, for binary ones, by code point."""
    if _binary_collation(collation):
        return Coll(max(rank, _BINARY_COLLATION), _cs_fold, True)
    key = exact_key(collation)
    return Coll(rank, key or _ci_fold, char_key=char_key(collation))


def combine(*colls: Coll) -> Coll:
    return max(colls, key=lambda c: c.rank)


_KEYS: dict[str, Key] = {_N: as_number, _B: as_bytes, _DT: dt_key, _T: time_key}


def _key_fn(dom: str, coll: Coll) -> Key:
    return coll.text_key if dom == _S else _KEYS[dom]


def order(ka: Any, kb: Any) -> int:
    """Sign of ka <=> kb; a DOUBLE against a DECIMAL compares as DOUBLE, as in MySQL."""
    if type(ka) is float and type(kb) is Decimal:
        kb = float(kb)
    elif type(kb) is float and type(ka) is Decimal:
        ka = float(ka)
    return (ka > kb) - (ka < kb)  # type: ignore[no-any-return]


def compare(a: Any, b: Any, coll: Coll) -> int:
    """Sign of a <=> b for two non-NULL values (-1, 0 or 1)."""
    dom, fallback = _DOMAINS[_cat(a), _cat(b)]
    key = _key_fn(dom, coll)
    try:
        ka, kb = key(a), key(b)
    except NoKey:
        key = _key_fn(fallback, coll)
        ka, kb = key(a), key(b)
    return order(ka, kb)


def const_key(a: Any, b: Any, coll: Coll) -> tuple[Key, Any]:
    """The key function for values like `a`, and the constant `b`'s key under it."""
    dom, fallback = _DOMAINS[_cat(a), _cat(b)]
    key = _key_fn(dom, coll)
    try:
        return key, key(b)
    except NoKey:
        key = _key_fn(fallback, coll)
        return key, key(b)


@lru_cache(maxsize=1024)
def like_regex(pattern: str | bytes, escape: str, ci: bool,
               fold: Callable[[str], str] | None = None) -> re.Pattern[Any]:
    """LIKE as a regex; `fold` (a per-character collation key) rewrites its literal
    characters, for a subject folded the same way."""
    binary = isinstance(pattern, bytes)
    chars: Sequence[Any] = (
        [pattern[i:i + 1] for i in range(len(pattern))] if isinstance(pattern, bytes)
        else pattern)
    esc: Any = escape.encode("utf-8") if binary else escape
    pct, under = (b"%", b"_") if binary else ("%", "_")
    out: list[Any] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        if esc and c == esc and i + 1 < len(chars):
            i += 1
            out.append(re.escape(fold(chars[i]) if fold else chars[i]))
        elif c == pct:
            out.append(b".*" if binary else ".*")
        elif c == under:
            out.append(b"." if binary else ".")
        else:
            out.append(re.escape(fold(c) if fold else c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ci and not binary else 0)
    source: Any = (b"" if binary else "").join(out)
    return re.compile(source, flags)
