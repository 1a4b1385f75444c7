"""MySQL value coercion: numbers, text, bytes, dates and times, and truth, from any row value."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any


class NoKey(Exception):
    """A value has no key in the comparison domain tried (e.g. an unparsable date)."""


class HexBytes(bytes):
    """A hex or bit literal: a binary string that is a number in numeric context."""


_NUM_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
INT_TEXT = re.compile(r"[+-]?\d+")


def parse_number(text: str) -> int | Decimal:
    """MySQL's string-to-number: the longest numeric prefix, 0 when there is none."""
    m = _NUM_PREFIX.match(text)
    if m is None:
        return 0
    digits = m.group(1)
    if INT_TEXT.fullmatch(digits):
        return int(digits)
    try:
        return Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex only admits valid numbers
        return 0


def as_number(v: Any) -> int | Decimal | float:
    t = type(v)
    if t is int or t is Decimal or t is float:
        return v  # type: ignore[no-any-return]
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | Decimal | float):
        return v
    if isinstance(v, HexBytes):
        return int.from_bytes(v, "big")
    if isinstance(v, bytes | bytearray):
        return parse_number(bytes(v).decode("latin-1"))
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
    return parse_number(str(v))


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


def as_text(v: Any) -> str:
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


def as_bytes(v: Any) -> bytes:
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    return as_text(v).encode("utf-8")


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
        raise NoKey(text)
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                        int((frac or "0").ljust(6, "0")))
    except ValueError as exc:  # zero dates, February 30th...
        raise NoKey(text) from exc


def _parse_time(text: str) -> timedelta:
    m = _TIME_TEXT.fullmatch(text)
    if m is not None:
        neg, days, h, mi, s, frac = m.groups()
        hours = int(days or 0) * 24 + int(h)
    else:
        m = _TIME_DIGITS.fullmatch(text)
        if m is None:
            raise NoKey(text)
        neg, digits, frac = m.groups()
        n = int(digits)
        hours, mi, s = n // 10000, str(n // 100 % 100), str(n % 100)
    if int(mi) > 59 or int(s or 0) > 59:
        raise NoKey(text)
    try:
        value = timedelta(hours=hours, minutes=int(mi), seconds=int(s or 0),
                          microseconds=int((frac or "0").ljust(6, "0")))
    except OverflowError as exc:
        raise NoKey(text) from exc
    return -value if neg else value


def dt_key(v: Any) -> datetime:
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
    raise NoKey(v)


def time_key(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, str):
        return _parse_time(v)
    if isinstance(v, bytes | bytearray):
        return _parse_time(bytes(v).decode("latin-1"))
    if isinstance(v, int) and not isinstance(v, bool):
        return _parse_time(str(v))
    raise NoKey(v)


def to_date(v: Any) -> date | None:
    try:
        return dt_key(v).date()
    except NoKey:
        return None


def to_datetime(v: Any) -> datetime | None:
    try:
        return dt_key(v)
    except NoKey:
        return None


def to_time(v: Any) -> timedelta | None:
    if isinstance(v, datetime):
        return v - datetime.combine(v.date(), time())
    try:
        return time_key(v)
    except NoKey:
        return None


def truth(v: Any) -> bool | None:
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
    return as_number(v) != 0
