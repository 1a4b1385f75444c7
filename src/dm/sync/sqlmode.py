"""The sql_mode the sync unit writes with downstream, and what a query event's mode says.

As DM (spec §7.3, §15.4): the upstream's global sql_mode, made compatible: no strictness
or zero-date checks (the upstream already accepted every value it logged), plus
IGNORE_SPACE, NO_AUTO_VALUE_ON_ZERO (an id 0 stays 0) and ALLOW_INVALID_DATES. A
`sql_mode` in the task's `target-database.session` wins.
"""

from __future__ import annotations

_REMOVED = frozenset({"NO_ZERO_IN_DATE", "NO_ZERO_DATE", "ERROR_FOR_DIVISION_BY_ZERO",
                      "NO_AUTO_CREATE_USER", "STRICT_TRANS_TABLES", "STRICT_ALL_TABLES"})
_ADDED = ("IGNORE_SPACE", "NO_AUTO_VALUE_ON_ZERO", "ALLOW_INVALID_DATES")
_MODE_ANSI_QUOTES = 0x4  # bit of the query event's sql_mode status variable (both flavours)


def compatible_sql_mode(upstream: str) -> str:
    kept = [m for m in (p.strip().upper() for p in upstream.split(",")) if m
            and m not in _REMOVED]
    return ",".join(kept + [m for m in _ADDED if m not in kept])


def ansi_quotes(event_sql_mode: int | None) -> bool:
    """Whether a statement was written with "double-quoted" identifiers."""
    return bool(event_sql_mode and event_sql_mode & _MODE_ANSI_QUOTES)
