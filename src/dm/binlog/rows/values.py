"""Decoders for the column types that need more than a struct code: temporal, DECIMAL,
BIT, ENUM and SET. Each factory returns (size in bytes, function(buf, pos) -> value).

Values that Python's types cannot hold (zero or partial dates, TIMESTAMP 0) come back as
the server's own text, e.g. "0000-00-00 00:00:00.000", so they round-trip exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

ValueReader = tuple[int, Callable[[bytes, int], Any]]

_DIG2BYTES = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)
_EPOCH = datetime(1970, 1, 1)
_FRAC_BYTES = (0, 1, 1, 2, 2, 3, 3)
_FRAC_SCALE = (1, 10000, 10000, 100, 100, 1, 1)


def _frac_text(usec: int, fsp: int) -> str:
    return f".{usec:06d}"[:fsp + 1] if fsp else ""


@cache
def decimal_reader(precision: int, scale: int) -> ValueReader:
    """NEWDECIMAL: groups of 9 digits in 4 big-endian bytes, partial groups first (integer
    part) and last (fraction); the sign bit is flipped and negatives are bitwise inverted."""
    intg = precision - scale
    sizes = [_DIG2BYTES[intg % 9]] if intg % 9 else []
    sizes += [4] * (intg // 9)
    frac_sizes = [4] * (scale // 9) + ([_DIG2BYTES[scale % 9]] if scale % 9 else [])
    frac_widths = [9] * (scale // 9) + ([scale % 9] if scale % 9 else [])
    size = sum(sizes) + sum(frac_sizes)
    frac_fmt = "".join(f"{{{i}:0{w}d}}" for i, w in enumerate(frac_widths))

    def read(buf: bytes, pos: int) -> Decimal:
        raw = int.from_bytes(buf[pos:pos + size], "big")
        negative = not raw >> (size * 8 - 1)
        raw ^= 1 << (size * 8 - 1)
        if negative:
            raw ^= (1 << (size * 8)) - 1
        data = raw.to_bytes(size, "big")
        p, ip = 0, 0
        for n in sizes:
            ip = ip * 1_000_000_000 + int.from_bytes(data[p:p + n], "big")
            p += n
        groups = []
        for n in frac_sizes:
            groups.append(int.from_bytes(data[p:p + n], "big"))
            p += n
        text = f"{'-' if negative else ''}{ip}"
        if frac_widths:
            text += "." + frac_fmt.format(*groups)
        return Decimal(text)

    return size, read


def _date_value(year: int, month: int, day: int) -> date | str:
    try:
        return date(year, month, day)
    except ValueError:
        return f"{year:04d}-{month:02d}-{day:02d}"


def _datetime_value(year: int, month: int, day: int, hour: int, minute: int, second: int,
                    usec: int, fsp: int) -> datetime | str:
    try:
        return datetime(year, month, day, hour, minute, second, usec)
    except ValueError:
        return (f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
                + _frac_text(usec, fsp))


def read_date(buf: bytes, pos: int) -> date | str:
    v = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
    return _date_value(v >> 9, (v >> 5) & 15, v & 31)


def read_time_v1(buf: bytes, pos: int) -> timedelta:
    v = int.from_bytes(buf[pos:pos + 3], "little", signed=True)
    sign, v = (-1, -v) if v < 0 else (1, v)
    return sign * timedelta(hours=v // 10000, minutes=v // 100 % 100, seconds=v % 100)


def read_datetime_v1(buf: bytes, pos: int) -> datetime | str:
    v = int.from_bytes(buf[pos:pos + 8], "little")
    d, t = divmod(v, 1_000_000)
    return _datetime_value(d // 10000, d // 100 % 100, d % 100, t // 10000, t // 100 % 100,
                           t % 100, 0, 0)


def read_timestamp_v1(buf: bytes, pos: int) -> datetime | str:
    secs = int.from_bytes(buf[pos:pos + 4], "little")
    return _EPOCH + timedelta(seconds=secs) if secs else "0000-00-00 00:00:00"


def _frac(buf: bytes, pos: int, fsp: int) -> int:
    n = _FRAC_BYTES[fsp]
    return int.from_bytes(buf[pos:pos + n], "big") * _FRAC_SCALE[fsp] if n else 0


@cache
def datetime2_reader(fsp: int) -> ValueReader:
    def read(buf: bytes, pos: int) -> datetime | str:
        v = int.from_bytes(buf[pos:pos + 5], "big") - 0x8000000000
        ymd, hms = v >> 17, v & 0x1FFFF
        ym = ymd >> 5
        return _datetime_value(ym // 13, ym % 13, ymd & 31, hms >> 12, (hms >> 6) & 63,
                               hms & 63, _frac(buf, pos + 5, fsp), fsp)

    return 5 + _FRAC_BYTES[fsp], read


@cache
def timestamp2_reader(fsp: int) -> ValueReader:
    zero = "0000-00-00 00:00:00" + _frac_text(0, fsp)

    def read(buf: bytes, pos: int) -> datetime | str:
        secs = int.from_bytes(buf[pos:pos + 4], "big")
        usec = _frac(buf, pos + 4, fsp)
        if not secs and not usec:
            return zero
        return _EPOCH + timedelta(seconds=secs, microseconds=usec)

    return 4 + _FRAC_BYTES[fsp], read


@cache
def time2_reader(fsp: int) -> ValueReader:
    """TIME2: 1 sign bit, 1 unused, 10 bits hour, 6 minute, 6 second, then the fraction;
    negative values are stored so the packed integer compares in order."""
    nfrac = _FRAC_BYTES[fsp]

    def read(buf: bytes, pos: int) -> timedelta:
        if nfrac == 3:
            packed = int.from_bytes(buf[pos:pos + 6], "big") - 0x800000000000
        else:
            intpart = int.from_bytes(buf[pos:pos + 3], "big") - 0x800000
            frac = int.from_bytes(buf[pos + 3:pos + 3 + nfrac], "big") if nfrac else 0
            if intpart < 0 and frac:
                intpart += 1
                frac -= 1 << (8 * nfrac)
            packed = (intpart << 24) + frac * _FRAC_SCALE[fsp]
        sign, packed = (-1, -packed) if packed < 0 else (1, packed)
        hms, usec = packed >> 24, packed & 0xFFFFFF
        return sign * timedelta(hours=(hms >> 12) & 0x3FF, minutes=(hms >> 6) & 63,
                                seconds=hms & 63, microseconds=usec)

    return 3 + nfrac, read


# MariaDB 5.3's fractional TIME/DATETIME/TIMESTAMP (`mysql56_temporal_format=OFF`): one
# big-endian integer of the value in units of 10^-digits s (TIME offset by 838:59:59 + 1 s
# so that it is never negative); TIMESTAMP: seconds, then the fraction in its own bytes.
_TIME_HIRES_BYTES = (3, 4, 4, 5, 5, 5, 6)
_DATETIME_HIRES_BYTES = (5, 6, 6, 7, 7, 7, 8)
_TIME_HIRES_ZERO = (838 * 3600 + 59 * 60 + 59 + 1) * 1_000_000


@cache
def time_hires_reader(digits: int) -> ValueReader:
    size, unit = _TIME_HIRES_BYTES[digits], 10 ** (6 - digits)

    def read(buf: bytes, pos: int) -> timedelta:
        packed = int.from_bytes(buf[pos:pos + size], "big")
        return timedelta(microseconds=packed * unit - _TIME_HIRES_ZERO)

    return size, read


@cache
def datetime_hires_reader(digits: int) -> ValueReader:
    size, unit = _DATETIME_HIRES_BYTES[digits], 10 ** (6 - digits)

    def read(buf: bytes, pos: int) -> datetime | str:
        packed, usec = divmod(int.from_bytes(buf[pos:pos + size], "big") * unit, 1_000_000)
        packed, second = divmod(packed, 60)
        packed, minute = divmod(packed, 60)
        packed, hour = divmod(packed, 24)
        packed, day = divmod(packed, 32)
        year, month = divmod(packed, 13)
        return _datetime_value(year, month, day, hour, minute, second, usec, digits)

    return size, read


@cache
def timestamp_hires_reader(digits: int) -> ValueReader:
    frac_size, unit = _FRAC_BYTES[digits], 10 ** (6 - digits)
    zero = "0000-00-00 00:00:00" + _frac_text(0, digits)

    def read(buf: bytes, pos: int) -> datetime | str:
        secs = int.from_bytes(buf[pos:pos + 4], "big")
        usec = int.from_bytes(buf[pos + 4:pos + 4 + frac_size], "big") * unit
        if not secs and not usec:
            return zero
        return _EPOCH + timedelta(seconds=secs, microseconds=usec)

    return 4 + frac_size, read


def read_year(buf: bytes, pos: int) -> int:
    v = buf[pos]
    return 1900 + v if v else 0


@cache
def bit_reader(meta: int) -> ValueReader:
    size = (meta >> 8) + (1 if meta & 0xFF else 0)

    def read(buf: bytes, pos: int) -> int:
        return int.from_bytes(buf[pos:pos + size], "big")

    return size, read


def enum_reader(size: int, members: Sequence[str] | None) -> ValueReader:
    """ENUM: the 1-based member index (0 is the error value ''); the index itself when the
    members are unknown."""
    if members is None:
        return size, lambda buf, pos: int.from_bytes(buf[pos:pos + size], "little")
    table = ("", *members)

    def read(buf: bytes, pos: int) -> str | int:
        i = int.from_bytes(buf[pos:pos + size], "little")
        return table[i] if i < len(table) else i

    return size, read


def set_reader(size: int, members: Sequence[str] | None) -> ValueReader:
    """SET: a bitmask of members, returned as the server shows it ("a,c"); the bitmask
    itself when the members are unknown."""
    if members is None:
        return size, lambda buf, pos: int.from_bytes(buf[pos:pos + size], "little")
    names = tuple(members)

    def read(buf: bytes, pos: int) -> str | int:
        mask = int.from_bytes(buf[pos:pos + size], "little")
        if mask >> len(names):
            return mask
        return ",".join([n for i, n in enumerate(names) if mask >> i & 1])

    return size, read
