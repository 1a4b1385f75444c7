"""Go's durations (time.ParseDuration / Duration.String), as DM's configs and dmctl's
flags write them. Light on purpose: dmctl imports it at every start."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(value: Any) -> timedelta:
    """Parse "5m", "1h30m", "300ms" or "0" like Go; a timedelta passes through."""
    if isinstance(value, timedelta):
        return value
    text = str(value)
    body = text.lstrip("+-")
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return timedelta(0)
    seconds, pos = 0.0, 0
    while pos < len(body):
        part = _GO_PART.match(body, pos)
        if part is None:
            break
        seconds += float(part.group(1)) * _GO_UNITS[part.group(2)]
        pos = part.end()
    if not body or pos != len(body):
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 5m, 1h30m)")
    return timedelta(seconds=sign * seconds)


def format_go_duration(value: timedelta) -> str:
    """Go's Duration.String(): 5m0s, 1h0m0s, 1.5s, 300ms."""
    micros = value // timedelta(microseconds=1)
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    if micros == 0:
        return "0s"
    if micros < 1000:
        return f"{sign}{micros}µs"
    if micros < 1_000_000:
        return f"{sign}{_trim(micros, 1000)}ms"
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    head = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return f"{sign}{head}{_trim(micros, 1_000_000)}s"


def _trim(amount: int, unit: int) -> str:
    whole, frac = divmod(amount, unit)
    digits = f"{frac:0{len(str(unit)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
