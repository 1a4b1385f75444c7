"""Expression filters (`expression-filter`): skip row changes matching a SQL condition.

Semantics, after DM's syncer (`expr_filter_group.go`):

* A filter applies to exactly one upstream table, named by `schema` and `table`
  (plain names, no wildcards; compared case-insensitively unless case-sensitive).
* The expression for the change's kind is evaluated on the row (the new row of an
  INSERT, the old row of a DELETE). A TRUE result skips the change; FALSE and NULL
  keep it.
* UPDATE is skipped only when the old row matches `update-old-value-expr` AND the new
  row matches `update-new-value-expr`; an omitted side counts as TRUE, but a filter
  with neither side does not look at updates at all.
* Several filters on one table: the change is skipped when any of them says so.

Expressions are parsed once with sqlglot's MySQL dialect and compiled once per table
version (`TableInfo` identity) into closures over the row tuple. The supported subset
(anything else is a coded error naming the filter, table and expression):

* column references (case-insensitive, optionally qualified by the table name),
  literals (numbers, strings, NULL, TRUE/FALSE, hex and bit strings), `DATE '...'`,
  `TIMESTAMP '...'`, `TIME '...'`;
* `= <> != < <= > >= <=>`, `AND OR XOR NOT`, `IS [NOT] NULL|TRUE|FALSE|UNKNOWN`,
  `[NOT] IN (...)`, `[NOT] BETWEEN`, `[NOT] LIKE ... [ESCAPE ...]`;
* `+ - * / DIV % MOD`, unary minus, parentheses;
* LENGTH/OCTET_LENGTH, CHAR_LENGTH, LOWER/LCASE, UPPER/UCASE, CONCAT,
  SUBSTRING/SUBSTR/MID, TRIM, ABS, IFNULL, COALESCE, IF, CAST/CONVERT to
  CHAR/BINARY/SIGNED/UNSIGNED/DECIMAL/DOUBLE/DATE/DATETIME/TIME, `BINARY x`,
  `x COLLATE name`.

Values follow MySQL: three-valued logic (NULL propagates, NOT NULL is NULL); numbers
compare as numbers whatever their Python type (int, Decimal, float); strings compare
under the collation that wins (`_Coll`): the column's, exactly where dm.core.collation has
its weights, else case-insensitively with trailing spaces ignored (PAD SPACE), or by code
point for binary collations (`*_bin`, `*_cs`); bytes compare bytewise; a number
against a string converts the string to a number (its longest numeric prefix); dates
and times against strings or numbers convert those to temporal values (falling back
to comparing text when they do not parse). Division by zero is NULL; `/` keeps four
more decimals than the dividend, as MySQL's div_precision_increment does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from dm import errors
from dm.config.task import ExpressionFilter
from dm.core.collation import char_key, exact_key
from dm.core.names import qualified
from dm.schema.table import TableInfo

__all__ = ["ExpressionFilters"]

_CACHE_LIMIT = 4096  # compiled table versions kept; a DDL makes a new TableInfo
_CTX = Context(prec=96)  # wide enough for DECIMAL(65, 30) arithmetic
_DIV_INCREMENT = 4  # MySQL's div_precision_increment

Row = tuple[Any, ...]


class FilteredChange(Protocol):
    """What a filter reads of a row change (dm.sync.change's RowChange has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def table(self) -> TableInfo: ...
    @property
    def before(self) -> Row | None: ...
    @property
    def after(self) -> Row | None: ...


Fn = Callable[[Row], Any]
Key = Callable[[Any], Any]
Against = Callable[[Any, Row], int | None]  # sign of compare(a, <other side>) or None


class _Unsupported(Exception):
    """Compile-time problem with an expression; becomes a coded DMError."""


class _NoKey(Exception):
    """A value has no key in the comparison domain tried (e.g. an unparsable date)."""


class _HexBytes(bytes):
    """A hex or bit literal: a binary string that is a number in numeric context."""


# --- value conversions -------------------------------------------------------------------
_NUM_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_INT_TEXT = re.compile(r"[+-]?\d+")


def _parse_number(text: str) -> int | Decimal:
    """MySQL's string-to-number: the longest numeric prefix, 0 when there is none."""
    m = _NUM_PREFIX.match(text)
    if m is None:
        return 0
    digits = m.group(1)
    if _INT_TEXT.fullmatch(digits):
        return int(digits)
    try:
        return Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex only admits valid numbers
        return 0


def _num(v: Any) -> int | Decimal | float:
    t = type(v)
    if t is int or t is Decimal or t is float:
        return v  # type: ignore[no-any-return]
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | Decimal | float):
        return v
    if isinstance(v, _HexBytes):
        return int.from_bytes(v, "big")
    if isinstance(v, bytes | bytearray):
        return _parse_number(bytes(v).decode("latin-1"))
    if isinstance(v, datetime):
        whole = ((v.year * 10000 + v.month * 100 + v.day) * 1_000_000
                 + v.hour * 10000 + v.minute * 100 + v.second)
        return whole + Decimal(v.microsecond).scaleb(-6) if v.microsecond else whole
    if isinstance(v, date):
        return v.year * 10000 + v.month * 100 + v.day
    if isinstance(v, timedelta):
        micros = abs(v) // timedelta(microseconds=1)
        secs, frac = divmod(micros, 1_000_000)
        hms = secs // 3600 * 10000 + secs // 60 % 60 * 100 + secs % 60
        value: int | Decimal = hms + Decimal(frac).scaleb(-6) if frac else hms
        return -value if v < timedelta(0) else value
    return _parse_number(str(v))


def _float_text(f: float) -> str:
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f).replace("e+", "e")


def _time_text(v: timedelta) -> str:
    micros = abs(v) // timedelta(microseconds=1)
    secs, frac = divmod(micros, 1_000_000)
    text = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if frac:
        text += f".{frac:06d}"
    return "-" + text if v < timedelta(0) else text


def _text(v: Any) -> str:
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, str | int):
        return str(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, datetime):
        return v.isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, timedelta):
        return _time_text(v)
    return str(v)


def _bytes(v: Any) -> bytes:
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    return _text(v).encode("utf-8")


_DATE_TEXT = re.compile(
    r"\s*(\d{4})[-/.:](\d{1,2})[-/.:](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?)?\s*")
_DATE_DIGITS = re.compile(r"\s*(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?)?\s*")
_TIME_TEXT = re.compile(
    r"\s*(-)?\s*(?:(\d+)\s+)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6})\d*)?)?\s*")
_TIME_DIGITS = re.compile(r"\s*(-)?(\d+)(?:\.(\d{1,6})\d*)?\s*")


def _parse_datetime(text: str) -> datetime:
    m = _DATE_TEXT.fullmatch(text) or _DATE_DIGITS.fullmatch(text)
    if m is None:
        raise _NoKey(text)
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                        int((frac or "0").ljust(6, "0")))
    except ValueError as exc:  # zero dates, February 30th...
        raise _NoKey(text) from exc


def _parse_time(text: str) -> timedelta:
    m = _TIME_TEXT.fullmatch(text)
    if m is not None:
        neg, days, h, mi, s, frac = m.groups()
        hours = int(days or 0) * 24 + int(h)
    else:
        m = _TIME_DIGITS.fullmatch(text)
        if m is None:
            raise _NoKey(text)
        neg, digits, frac = m.groups()
        n = int(digits)
        hours, mi, s = n // 10000, str(n // 100 % 100), str(n % 100)
    if int(mi) > 59 or int(s or 0) > 59:
        raise _NoKey(text)
    try:
        value = timedelta(hours=hours, minutes=int(mi), seconds=int(s or 0),
                          microseconds=int((frac or "0").ljust(6, "0")))
    except OverflowError as exc:
        raise _NoKey(text) from exc
    return -value if neg else value


def _dt_key(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime.combine(v, time())
    if isinstance(v, str):
        return _parse_datetime(v)
    if isinstance(v, bytes | bytearray):
        return _parse_datetime(bytes(v).decode("latin-1"))
    if isinstance(v, int) and not isinstance(v, bool) and len(str(v)) in (8, 14):
        return _parse_datetime(str(v))
    raise _NoKey(v)


def _time_key(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, str):
        return _parse_time(v)
    if isinstance(v, bytes | bytearray):
        return _parse_time(bytes(v).decode("latin-1"))
    if isinstance(v, int) and not isinstance(v, bool):
        return _parse_time(str(v))
    raise _NoKey(v)


def _to_date(v: Any) -> date | None:
    try:
        return _dt_key(v).date()
    except _NoKey:
        return None


def _to_datetime(v: Any) -> datetime | None:
    try:
        return _dt_key(v)
    except _NoKey:
        return None


def _to_time(v: Any) -> timedelta | None:
    if isinstance(v, datetime):
        return v - datetime.combine(v.date(), time())
    try:
        return _time_key(v)
    except _NoKey:
        return None


def _truth(v: Any) -> bool | None:
    """MySQL's truth value of `v`: None for NULL, else whether it is non-zero."""
    if v is None:
        return None
    t = type(v)
    if t is int or t is bool:
        return v != 0  # type: ignore[no-any-return]
    if isinstance(v, date | datetime):
        return True
    if isinstance(v, timedelta):
        return bool(v)
    return _num(v) != 0


# --- comparison ----------------------------------------------------------------------------
# Value categories, and the domain (plus a fallback) two categories compare in.
_N, _S, _B, _D, _DT, _T = "num", "str", "bytes", "date", "datetime", "time"
_CATS: dict[type, str] = {int: _N, bool: _N, float: _N, Decimal: _N, str: _S, bytes: _B,
                          _HexBytes: _B, bytearray: _B, datetime: _DT, date: _D,
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


class _Coll:
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
        self.text_key: Key = lambda v: key(_text(v))


_DEFAULT = _Coll(0, _ci_fold)  # a literal's: case-insensitive, PAD SPACE
_COLUMN, _BINARY_COLLATION, _EXPLICIT = 2, 5, 10
_BINARY_STRING = _Coll(20, _cs_fold, True)


def _coll_of(collation: str | None, rank: int) -> _Coll:
    """A collation's comparison: exact keys where pydm has the server's weights
    (dm.core.collation), else case-insensitive or, for binary ones, by code point."""
    if _binary_collation(collation):
        return _Coll(max(rank, _BINARY_COLLATION), _cs_fold, True)
    key = exact_key(collation)
    return _Coll(rank, key or _ci_fold, char_key=char_key(collation))


def _combine(*colls: _Coll) -> _Coll:
    return max(colls, key=lambda c: c.rank)


_KEYS: dict[str, Key] = {_N: _num, _B: _bytes, _DT: _dt_key, _T: _time_key}


def _key_fn(dom: str, coll: _Coll) -> Key:
    return coll.text_key if dom == _S else _KEYS[dom]


def _order(ka: Any, kb: Any) -> int:
    """Sign of ka <=> kb; a DOUBLE against a DECIMAL compares as DOUBLE, as in MySQL."""
    if type(ka) is float and type(kb) is Decimal:
        kb = float(kb)
    elif type(kb) is float and type(ka) is Decimal:
        ka = float(ka)
    return (ka > kb) - (ka < kb)  # type: ignore[no-any-return]


def _compare(a: Any, b: Any, coll: _Coll) -> int:
    """Sign of a <=> b for two non-NULL values (-1, 0 or 1)."""
    dom, fallback = _DOMAINS[_cat(a), _cat(b)]
    key = _key_fn(dom, coll)
    try:
        ka, kb = key(a), key(b)
    except _NoKey:
        key = _key_fn(fallback, coll)
        ka, kb = key(a), key(b)
    return _order(ka, kb)


def _const_key(a: Any, b: Any, coll: _Coll) -> tuple[Key, Any]:
    """The key function for values like `a`, and the constant `b`'s key under it."""
    dom, fallback = _DOMAINS[_cat(a), _cat(b)]
    key = _key_fn(dom, coll)
    try:
        return key, key(b)
    except _NoKey:
        key = _key_fn(fallback, coll)
        return key, key(b)


# --- LIKE ------------------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def _like_regex(pattern: str | bytes, escape: str, ci: bool,
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


# --- arithmetic ------------------------------------------------------------------------------
def _operands(a: Any, b: Any) -> tuple[Any, Any, type]:
    x, y = _num(a), _num(b)
    if isinstance(x, float) or isinstance(y, float):
        return float(x), float(y), float
    if isinstance(x, Decimal) or isinstance(y, Decimal):
        return Decimal(x), Decimal(y), Decimal
    return x, y, int


def _add(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return _CTX.add(x, y) if t is Decimal else x + y


def _sub(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return _CTX.subtract(x, y) if t is Decimal else x - y


def _mul(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    return _CTX.multiply(x, y) if t is Decimal else x * y


def _div(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is float:
        return x / y
    dx = Decimal(x)
    exponent = dx.as_tuple().exponent
    scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    quotient = _CTX.divide(dx, Decimal(y))
    return quotient.quantize(Decimal(1).scaleb(-(scale + _DIV_INCREMENT)),
                             rounding=ROUND_HALF_UP, context=_CTX)


def _intdiv(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is int:
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q
    if t is float:
        return int(x / y)
    return int(_CTX.divide_int(x, y))


def _mod(a: Any, b: Any) -> Any:
    x, y, t = _operands(a, b)
    if not y:
        return None
    if t is int:
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    if t is float:
        return math.fmod(x, y)
    return _CTX.remainder(x, y)


def _neg(v: Any) -> Any:
    x = _num(v)
    return _CTX.minus(x) if isinstance(x, Decimal) else -x


def _abs(v: Any) -> Any:
    x = _num(v)
    return _CTX.abs(x) if isinstance(x, Decimal) else abs(x)


def _round_int(v: Any) -> int:
    """To an integer as MySQL does for numeric arguments: round half away from zero."""
    x = _num(v)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            return 0
        x = Decimal(x)
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))


# --- string functions ------------------------------------------------------------------------
def _length(v: Any) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    return len(_text(v).encode("utf-8"))


def _char_length(v: Any) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    return len(_text(v))


def _lower(v: Any) -> Any:
    return bytes(v) if isinstance(v, bytes | bytearray) else _text(v).lower()


def _upper(v: Any) -> Any:
    return bytes(v) if isinstance(v, bytes | bytearray) else _text(v).upper()


def _substring(s: Any, pos: Any, length: Any) -> Any:
    text: str | bytes = bytes(s) if isinstance(s, bytes | bytearray) else _text(s)
    p = _round_int(pos)
    n = len(text)
    if p == 0:
        return text[:0]
    start = p - 1 if p > 0 else n + p
    if start < 0:
        return text[:0]
    if length is _ABSENT:
        return text[start:]
    count = _round_int(length)
    return text[start:start + count] if count > 0 else text[:0]


def _trim(s: Any, remove: Any, position: str) -> Any:
    binary = isinstance(s, bytes | bytearray) or isinstance(remove, bytes | bytearray)
    text: Any = _bytes(s) if binary else _text(s)
    rem: Any = _bytes(remove) if binary else _text(remove)
    if not rem:
        return text
    if position in ("BOTH", "LEADING"):
        while text.startswith(rem):
            text = text[len(rem):]
    if position in ("BOTH", "TRAILING"):
        while text.endswith(rem):
            text = text[:len(text) - len(rem)]
    return text


_ABSENT = object()


def _concat(values: list[Any]) -> Any:
    if any(isinstance(v, bytes | bytearray) for v in values):
        return b"".join(_bytes(v) for v in values)
    return "".join(_text(v) for v in values)


# --- casts -------------------------------------------------------------------------------------
def _cast_int(v: Any) -> int:
    if isinstance(v, str | bytes | bytearray):  # strings truncate, numbers round
        return int(_parse_number(_text(v)))
    return _round_int(v)


def _cast_unsigned(v: Any) -> int:
    return _cast_int(v) % (1 << 64)


def _cast_double(v: Any) -> float:
    return float(_num(v))


def _decimal_caster(precision: int, scale: int) -> Callable[[Any], Decimal]:
    """CAST(v AS DECIMAL(precision, scale)): rounded, clamped to the type's range."""
    quantum = Decimal(1).scaleb(-scale)
    top = _CTX.subtract(Decimal(10) ** (precision - scale), quantum)

    def cast(v: Any) -> Decimal:
        x = Decimal(_num(v))
        if x.is_nan():
            return Decimal(0).quantize(quantum)
        if abs(x) > top:
            return top if x > 0 else -top
        return x.quantize(quantum, rounding=ROUND_HALF_UP, context=_CTX)

    return cast


# --- compiler ----------------------------------------------------------------------------------
class _Node(NamedTuple):
    fn: Fn
    const: bool = False
    coll: _Coll = _DEFAULT  # how its strings compare


def _const(value: Any, coll: _Coll = _DEFAULT) -> _Node:
    return _Node(lambda _row: value, True, coll)


_NULL = _const(None)


def _make(fn: Fn, children: Sequence[_Node], coll: _Coll = _DEFAULT) -> _Node:
    """A node; folded to a constant when every input is one."""
    if all(c.const for c in children):
        try:
            return _const(fn(()), coll)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise _Unsupported(f"cannot evaluate a constant part: {exc}") from exc
    return _Node(fn, False, coll)


# Types whose values of the same type compare directly in their domain.
_DIRECT = frozenset({int, float, Decimal, bytes, date, datetime, timedelta})


def _against(right: _Node, coll: _Coll) -> Against:
    """Compare a given non-NULL value `a` with `right`'s value on the row."""
    if right.const:
        b = right.fn(())
        if b is None:
            return lambda _a, _row: None
        memo: dict[type, tuple[Key, Any]] = {}

        def vs_const(a: Any, _row: Row) -> int | None:
            hit = memo.get(type(a))
            if hit is None:
                hit = memo[type(a)] = _const_key(a, b, coll)
            key, kb = hit
            try:
                ka = key(a)
            except _NoKey:
                return _compare(a, b, coll)
            return _order(ka, kb)

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
        return None if b is None else _compare(a, b, coll)

    return vs


_SIGNS: dict[str, frozenset[int]] = {
    "EQ": frozenset({0}), "NEQ": frozenset({-1, 1}), "LT": frozenset({-1}),
    "LTE": frozenset({-1, 0}), "GT": frozenset({1}), "GTE": frozenset({0, 1}),
}

_DEFAULT_ESCAPE = "\\"
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
            raise _Unsupported(f"{name.upper()} takes "
                               f"{low if low == high else f'{low} to {high}'} argument"
                               f"{'' if high == 1 else 's'}, not {count}")


class _Compiler:
    """sqlglot expression -> `_Node`, with columns resolved by `resolve`."""

    def __init__(self, resolve: Callable[[Any], _Node]) -> None:
        self.resolve = resolve

    def node(self, e: Any) -> _Node:
        handler = _HANDLERS.get(type(e).__name__)
        if handler is None:
            raise _Unsupported(f"{_sql(e)} is not supported")
        return handler(self, e)

    def arg(self, e: Any, name: str) -> _Node:
        child = e.args.get(name)
        if child is None:
            raise _Unsupported(f"{_sql(e)}: missing argument")
        return self.node(child)


def _sql(e: Any) -> str:
    try:
        return str(e.sql(dialect="mysql"))
    except Exception:  # noqa: BLE001 - only for the message
        return type(e).__name__


def _literal(c: _Compiler, e: Any) -> _Node:
    text = str(e.this)
    if e.is_string:
        return _const(text)
    if _INT_TEXT.fullmatch(text):
        return _const(int(text))
    if "e" in text.lower():
        return _const(float(text))
    return _const(Decimal(text))


def _hex(c: _Compiler, e: Any) -> _Node:
    digits = str(e.this)
    return _const(_HexBytes(bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))),
                  _BINARY_STRING)


def _bits(c: _Compiler, e: Any) -> _Node:
    digits = str(e.this) or "0"
    n = int(digits, 2)
    return _const(_HexBytes(n.to_bytes((len(digits) + 7) // 8, "big")), _BINARY_STRING)


def _introducer(c: _Compiler, e: Any) -> _Node:
    inner = c.node(e.expression)
    charset = str(e.this).lower().lstrip("_")
    if charset == "binary":
        return _make(lambda row: None if (v := inner.fn(row)) is None else _bytes(v),
                     [inner], _BINARY_STRING)
    return inner


def _paren(c: _Compiler, e: Any) -> _Node:
    return c.node(e.this)


def _comparison(op: str) -> Callable[[_Compiler, Any], _Node]:
    def build(c: _Compiler, e: Any) -> _Node:
        left, right = c.arg(e, "this"), c.arg(e, "expression")
        coll = _combine(left.coll, right.coll)
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

        return _make(fn, [left, right], coll)

    return build


def _null_safe_eq(c: _Compiler, e: Any) -> _Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    coll = _combine(left.coll, right.coll)
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int:
        a, b = fa(row), fb(row)
        if a is None or b is None:
            return int(a is None and b is None)
        return int(_compare(a, b, coll) == 0)

    return _make(fn, [left, right])


def _and(c: _Compiler, e: Any) -> _Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = _truth(fa(row))
        if x is False:
            return 0
        y = _truth(fb(row))
        if y is False:
            return 0
        return None if x is None or y is None else 1

    return _make(fn, [left, right])


def _or(c: _Compiler, e: Any) -> _Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = _truth(fa(row))
        if x is True:
            return 1
        y = _truth(fb(row))
        if y is True:
            return 1
        return None if x is None or y is None else 0

    return _make(fn, [left, right])


def _xor(c: _Compiler, e: Any) -> _Node:
    left, right = c.arg(e, "this"), c.arg(e, "expression")
    fa, fb = left.fn, right.fn

    def fn(row: Row) -> int | None:
        x = _truth(fa(row))
        if x is None:
            return None
        y = _truth(fb(row))
        return None if y is None else int(x != y)

    return _make(fn, [left, right])


def _not(c: _Compiler, e: Any) -> _Node:
    inner = c.arg(e, "this")
    f = inner.fn

    def fn(row: Row) -> int | None:
        x = _truth(f(row))
        return None if x is None else int(not x)

    return _make(fn, [inner])


def _is(c: _Compiler, e: Any) -> _Node:
    inner = c.arg(e, "this")
    f = inner.fn
    what = e.expression
    kind = type(what).__name__
    if kind == "Null":
        return _make(lambda row: int(f(row) is None), [inner])
    if kind == "Boolean":
        want = bool(what.this)
        return _make(lambda row: int(_truth(f(row)) is want), [inner])
    raise _Unsupported(f"{_sql(e)}: IS takes NULL, TRUE, FALSE or UNKNOWN")


def _in(c: _Compiler, e: Any) -> _Node:
    if e.args.get("query") or e.args.get("unnest") or e.args.get("field"):
        raise _Unsupported(f"{_sql(e)}: only IN (value, ...) is supported")
    items = [c.node(x) for x in e.expressions]
    if not items:
        raise _Unsupported(f"{_sql(e)}: IN needs at least one value")
    left = c.arg(e, "this")
    coll = _combine(left.coll, *(i.coll for i in items))
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

    return _make(fn, [left, *items])


def _between(c: _Compiler, e: Any) -> _Node:
    left, low, high = c.arg(e, "this"), c.arg(e, "low"), c.arg(e, "high")
    coll = _combine(left.coll, low.coll, high.coll)
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

    return _make(fn, [left, low, high])


def _like_node(c: _Compiler, like: Any, escape: Any | None) -> _Node:
    subject, pattern = c.arg(like, "this"), c.arg(like, "expression")
    esc = _DEFAULT_ESCAPE
    if escape is not None:
        esc_node = c.node(escape)
        value = esc_node.fn(()) if esc_node.const else None
        if not esc_node.const or not isinstance(value, str) or len(value) > 1:
            raise _Unsupported(f"{_sql(escape)}: ESCAPE takes one constant character")
        esc = value
    coll = _combine(subject.coll, pattern.coll)
    ci = not coll.binary
    fold = coll.char_key if ci else None
    negate = bool(like.args.get("negate"))
    fs, fp = subject.fn, pattern.fn
    fixed = None
    if pattern.const:
        p = fp(())
        if p is not None and not isinstance(p, bytes | bytearray):
            fixed = _like_regex(_text(p), esc, ci and not fold, fold)

    def fn(row: Row) -> int | None:
        s = fs(row)
        if s is None:
            return None
        p = fp(row)
        if p is None:
            return None
        if isinstance(s, bytes | bytearray) or isinstance(p, bytes | bytearray):
            hit = _like_regex(_bytes(p), esc, False).fullmatch(_bytes(s)) is not None
        else:
            rx = fixed if fixed is not None else _like_regex(_text(p), esc, ci and not fold,
                                                             fold)
            text = _text(s)
            hit = rx.fullmatch(fold(text) if fold else text) is not None
        return int(hit != negate)

    return _make(fn, [subject, pattern])


def _like(c: _Compiler, e: Any) -> _Node:
    return _like_node(c, e, None)


def _escape(c: _Compiler, e: Any) -> _Node:
    like = e.this
    if type(like).__name__ != "Like":
        raise _Unsupported(f"{_sql(e)}: ESCAPE only follows LIKE")
    return _like_node(c, like, e.expression)


def _binary_op(op: Callable[[Any, Any], Any]) -> Callable[[_Compiler, Any], _Node]:
    def build(c: _Compiler, e: Any) -> _Node:
        left, right = c.arg(e, "this"), c.arg(e, "expression")
        fa, fb = left.fn, right.fn

        def fn(row: Row) -> Any:
            a = fa(row)
            if a is None:
                return None
            b = fb(row)
            return None if b is None else op(a, b)

        return _make(fn, [left, right])

    return build


def _unary(op: Callable[[Any], Any], *, coll: _Coll | None = None,
           arg: str = "this") -> Callable[[_Compiler, Any], _Node]:
    """A NULL-propagating function of one argument; coll None keeps the argument's."""

    def build(c: _Compiler, e: Any) -> _Node:
        inner = c.arg(e, arg)
        f = inner.fn
        return _make(lambda row: None if (v := f(row)) is None else op(v), [inner],
                     inner.coll if coll is None else coll)

    return build


def _length_fn(c: _Compiler, e: Any) -> _Node:
    return _unary(_length if e.args.get("binary") else _char_length, coll=_DEFAULT)(c, e)


def _concat_fn(c: _Compiler, e: Any) -> _Node:
    parts = [c.node(x) for x in e.expressions]
    fns = [p.fn for p in parts]

    def fn(row: Row) -> Any:
        values = [f(row) for f in fns]
        return None if any(v is None for v in values) else _concat(values)

    return _make(fn, parts, _combine(*(p.coll for p in parts)))


def _substring_fn(c: _Compiler, e: Any) -> _Node:
    s, start = c.arg(e, "this"), c.arg(e, "start")
    length = c.node(e.args["length"]) if e.args.get("length") is not None else None
    return _substring_of(s, start, length)


def _substring_of(s: _Node, start: _Node, length: _Node | None) -> _Node:
    fs, fstart = s.fn, start.fn
    flen = length.fn if length is not None else (lambda _row: _ABSENT)

    def fn(row: Row) -> Any:
        v, p, n = fs(row), fstart(row), flen(row)
        if v is None or p is None or n is None:
            return None
        return _substring(v, p, n)

    return _make(fn, [s, start] + ([length] if length is not None else []), s.coll)


def _trim_fn(c: _Compiler, e: Any) -> _Node:
    s = c.arg(e, "this")
    remove = c.node(e.expression) if e.args.get("expression") is not None else _const(" ")
    position = str(e.args.get("position") or "BOTH").upper()
    if position not in ("BOTH", "LEADING", "TRAILING"):
        raise _Unsupported(f"{_sql(e)}: unknown TRIM position {position}")
    fs, fr = s.fn, remove.fn

    def fn(row: Row) -> Any:
        v = fs(row)
        if v is None:
            return None
        r = fr(row)
        return None if r is None else _trim(v, r, position)

    return _make(fn, [s, remove], s.coll)


def _coalesce(c: _Compiler, e: Any) -> _Node:
    parts = [c.arg(e, "this"), *(c.node(x) for x in e.expressions)]
    fns = [p.fn for p in parts]

    def fn(row: Row) -> Any:
        for f in fns:
            v = f(row)
            if v is not None:
                return v
        return None

    return _make(fn, parts, _combine(*(p.coll for p in parts)))


def _if(c: _Compiler, e: Any) -> _Node:
    cond, yes, no = c.arg(e, "this"), c.arg(e, "true"), c.arg(e, "false")
    fc, fy, fn_ = cond.fn, yes.fn, no.fn

    def fn(row: Row) -> Any:
        return fy(row) if _truth(fc(row)) is True else fn_(row)

    return _make(fn, [cond, yes, no], _combine(yes.coll, no.coll))


def _anonymous(c: _Compiler, e: Any) -> _Node:
    name = str(e.this).lower()
    args = [c.node(x) for x in e.expressions]
    if name == "octet_length" and len(args) == 1:
        f = args[0].fn
        return _make(lambda row: None if (v := f(row)) is None else _length(v), args)
    if name == "mid" and len(args) in (2, 3):
        return _substring_of(args[0], args[1], args[2] if len(args) == 3 else None)
    raise _Unsupported(f"{_sql(e)}: function {name.upper()} is not supported")


_CASTS: dict[str, tuple[Callable[[Any], Any], _Coll | None]] = {
    "DATE": (_to_date, None), "DATETIME": (_to_datetime, None),
    "TIMESTAMP": (_to_datetime, None), "TIMESTAMPTZ": (_to_datetime, None),
    "TIMESTAMPLTZ": (_to_datetime, None), "TIME": (_to_time, None),
    "CHAR": (_text, _DEFAULT), "VARCHAR": (_text, _DEFAULT), "TEXT": (_text, _DEFAULT),
    "NCHAR": (_text, _DEFAULT), "NVARCHAR": (_text, _DEFAULT),
    "BINARY": (_bytes, _BINARY_STRING), "VARBINARY": (_bytes, _BINARY_STRING),
    "BIGINT": (_cast_int, None), "INT": (_cast_int, None), "UBIGINT": (_cast_unsigned, None),
    "UINT": (_cast_unsigned, None), "DOUBLE": (_cast_double, None),
    "FLOAT": (_cast_double, None),
}


def _cast(c: _Compiler, e: Any) -> _Node:
    to = e.args["to"]
    kind = to.this.name if hasattr(to.this, "name") else str(to.this)
    if kind == "DECIMAL":
        params = [int(str(p.this.this)) for p in to.expressions]
        precision, scale = (params + [10, 0][len(params):])[:2]
        if not 0 < precision <= 65 or not 0 <= scale <= min(30, precision):
            raise _Unsupported(f"{_sql(e)}: bad DECIMAL precision or scale")
        return _unary(_decimal_caster(precision, scale), coll=_DEFAULT)(c, e)
    if kind not in _CASTS:
        raise _Unsupported(f"{_sql(e)}: cannot cast to {kind}")
    op, coll = _CASTS[kind]
    inner = c.arg(e, "this")
    f = inner.fn
    return _make(lambda row: None if (v := f(row)) is None else op(v), [inner],
                 inner.coll if coll is None else coll)


def _collate(c: _Compiler, e: Any) -> _Node:
    inner = c.arg(e, "this")
    name = e.expression.name.lower() if hasattr(e.expression, "name") else str(e.expression)
    return _Node(inner.fn, inner.const, _coll_of(name, _EXPLICIT))


def _binary_collation(name: str | None) -> bool:
    name = (name or "").lower()
    return name == "binary" or name.endswith(("_bin", "_cs"))


_HANDLERS: dict[str, Callable[[_Compiler, Any], _Node]] = {
    "Paren": _paren,
    "Column": lambda c, e: c.resolve(e),
    "Literal": _literal,
    "Null": lambda c, e: _NULL,
    "Boolean": lambda c, e: _const(int(bool(e.this))),
    "HexString": _hex,
    "BitString": _bits,
    "National": lambda c, e: _const(str(e.this)),
    "Introducer": _introducer,
    "EQ": _comparison("EQ"), "NEQ": _comparison("NEQ"), "LT": _comparison("LT"),
    "LTE": _comparison("LTE"), "GT": _comparison("GT"), "GTE": _comparison("GTE"),
    "NullSafeEQ": _null_safe_eq,
    "And": _and, "Or": _or, "Xor": _xor, "Not": _not, "Is": _is,
    "In": _in, "Between": _between, "Like": _like, "Escape": _escape,
    "Add": _binary_op(_add), "Sub": _binary_op(_sub), "Mul": _binary_op(_mul),
    "Div": _binary_op(_div), "IntDiv": _binary_op(_intdiv), "Mod": _binary_op(_mod),
    "Neg": _unary(_neg, coll=_DEFAULT),
    "Length": _length_fn,
    "Lower": _unary(_lower), "Upper": _unary(_upper),
    "Concat": _concat_fn, "Substring": _substring_fn, "Trim": _trim_fn,
    "Abs": _unary(_abs, coll=_DEFAULT),
    "Coalesce": _coalesce, "If": _if,
    "Anonymous": _anonymous, "Cast": _cast, "Collate": _collate,
}


def _parse(expr: str) -> Any:
    """The one expression of `SELECT <expr>`, or _Unsupported."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = sqlglot.parse(f"SELECT {expr}", read="mysql")
    except (ParseError, TokenError) as exc:
        raise _Unsupported(str(exc).splitlines()[0]) from exc
    if len(statements) != 1 or statements[0] is None:
        raise _Unsupported("not a single expression")
    select = statements[0]
    extra = [k for k, v in select.args.items() if v and k != "expressions"]
    if type(select).__name__ != "Select" or extra or len(select.expressions) != 1:
        raise _Unsupported("not a single expression")
    node = select.expressions[0]
    if type(node).__name__ == "Alias":
        raise _Unsupported(f"unexpected {node.args['alias'].name!r} after the expression")
    _check_arity(f"SELECT {expr}")
    return node


def expression_problem(expr: str) -> str | None:
    """Why `expr` is not one expression (what task.yaml's check reports, from the same
    parse as the filter's), or None."""
    try:
        _parse(expr)
    except _Unsupported as exc:
        return str(exc)
    return None


# --- filters -----------------------------------------------------------------------------------
_KEYS_BY_KIND = ("insert-value-expr", "update-old-value-expr", "update-new-value-expr",
                 "delete-value-expr")

RowTest = Callable[[Row], bool]
UpdateTest = Callable[[Row, Row], bool]


@dataclass(frozen=True)
class _Rule:
    name: str
    schema: str
    table: str
    exprs: dict[str, tuple[str, Any]]  # key -> (text, parsed expression)


class _Checks(NamedTuple):
    insert: tuple[RowTest, ...]
    update: tuple[UpdateTest, ...]
    delete: tuple[RowTest, ...]


_NO_CHECKS = _Checks((), (), ())


def _fail(rule: _Rule, key: str, text: str, detail: str,
          cause: BaseException | None = None) -> errors.DMError:
    message = (f"expression-filter {rule.name!r} on table {qualified(rule.schema, rule.table)}: "
               f"{key} {text!r}: {detail}")
    return errors.DMError(errors.CONFIG_EXPR_GRAMMAR, message,
                          "" if cause is None else f"{type(cause).__name__}: {cause}")


def _static_column(e: Any) -> _Node:
    return _Node(lambda _row: None)


def _column_resolver(info: TableInfo) -> Callable[[Any], _Node]:
    def resolve(e: Any) -> _Node:
        name = str(e.name)
        table, db = e.text("table"), e.text("db")
        if e.text("catalog") or (table and table.lower() != info.table.lower()) or (
                db and db.lower() != info.schema.lower()):
            raise _Unsupported(f"unknown column {_sql(e)}")
        try:
            pos = info.position(name)
        except KeyError:
            raise _Unsupported(f"unknown column {name!r}") from None
        column = info.columns[pos]
        collation = column.collation
        if collation is None and column.charset in (None, info.charset):
            collation = info.collation
        coll = _BINARY_STRING if column.charset == "binary" else _coll_of(collation, _COLUMN)
        return _Node(itemgetter(pos), False, coll)

    return resolve


class ExpressionFilters:
    """The `expression-filter` rules of one subtask, ready to test row changes."""

    def __init__(self, filters: Mapping[str, ExpressionFilter], *,
                 case_sensitive: bool = False) -> None:
        self._case_sensitive = case_sensitive
        self._rules: dict[tuple[str, str], list[_Rule]] = {}
        self._cache: dict[int, tuple[TableInfo, _Checks]] = {}
        static = _Compiler(_static_column)
        for name, cfg in filters.items():
            texts = dict(zip(_KEYS_BY_KIND, (cfg.insert_value_expr, cfg.update_old_value_expr,
                                             cfg.update_new_value_expr, cfg.delete_value_expr),
                             strict=True))
            rule = _Rule(name, cfg.schema_, cfg.table, {})
            for key, text in texts.items():
                if not text.strip():
                    continue
                try:
                    parsed = _parse(text)
                    static.node(parsed)  # every construct supported; columns come later
                except _Unsupported as exc:
                    raise _fail(rule, key, text, str(exc)) from None
                rule.exprs[key] = (text, parsed)
            if rule.exprs:
                self._rules.setdefault(self._fold(cfg.schema_, cfg.table), []).append(rule)

    def _fold(self, schema: str, table: str) -> tuple[str, str]:
        return (schema, table) if self._case_sensitive else (schema.lower(), table.lower())

    def __bool__(self) -> bool:
        return bool(self._rules)

    def applies_to(self, schema: str, table: str) -> bool:
        """Whether any filter names this upstream table."""
        return self._fold(schema, table) in self._rules

    def check(self, info: TableInfo) -> None:
        """Compile the filters of `info`'s table now: raises on unknown columns."""
        self._checks(info)

    def skip(self, change: FilteredChange) -> bool:
        """Whether the change is filtered out (never for REPLACE, made after filtering)."""
        if not self._rules:
            return False
        info = change.table
        hit = self._cache.get(id(info))
        checks = hit[1] if hit is not None and hit[0] is info else self._checks(info)
        kind = change.kind
        if kind == "insert":
            row = change.after
            if row is not None:
                for test in checks.insert:
                    if test(row):
                        return True
        elif kind == "update":
            old, new = change.before, change.after
            if old is not None and new is not None:
                for update_test in checks.update:
                    if update_test(old, new):
                        return True
        elif kind == "delete":
            row = change.before
            if row is not None:
                for test in checks.delete:
                    if test(row):
                        return True
        return False

    def _checks(self, info: TableInfo) -> _Checks:
        rules = self._rules.get(self._fold(info.schema, info.table), [])
        checks = self._compile(info, rules) if rules else _NO_CHECKS
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[id(info)] = (info, checks)
        return checks

    @staticmethod
    def _compile(info: TableInfo, rules: list[_Rule]) -> _Checks:
        compiler = _Compiler(_column_resolver(info))
        inserts: list[RowTest] = []
        updates: list[UpdateTest] = []
        deletes: list[RowTest] = []
        for rule in rules:
            tests: dict[str, RowTest] = {}
            for key, (text, parsed) in rule.exprs.items():
                try:
                    node = compiler.node(parsed)
                except _Unsupported as exc:
                    raise _fail(rule, key, text, str(exc)) from None
                tests[key] = _row_test(rule, key, text, node.fn)
            if "insert-value-expr" in tests:
                inserts.append(tests["insert-value-expr"])
            if "delete-value-expr" in tests:
                deletes.append(tests["delete-value-expr"])
            old, new = tests.get("update-old-value-expr"), tests.get("update-new-value-expr")
            if old is not None or new is not None:
                updates.append(_update_test(old, new))
        return _Checks(tuple(inserts), tuple(updates), tuple(deletes))


def _row_test(rule: _Rule, key: str, text: str, fn: Fn) -> RowTest:
    def test(row: Row) -> bool:
        try:
            v = fn(row)
            if type(v) is int:  # what comparisons and logic yield
                return v != 0
            return _truth(v) is True
        except (ArithmeticError, TypeError, ValueError, OverflowError) as exc:
            raise _fail(rule, key, text, "cannot evaluate it on the row", exc) from exc

    return test


def _update_test(old: RowTest | None, new: RowTest | None) -> UpdateTest:
    if old is None:
        assert new is not None
        return lambda _before, after: new(after)
    if new is None:
        return lambda before, _after: old(before)
    return lambda before, after: old(before) and new(after)
