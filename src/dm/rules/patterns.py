"""DM's name patterns: wildcards (`*` last only, `?`, `[a-z]`, `[!...]`) and `~regex` values.

Wildcards follow tidb-tools' table-rule-selector: `*` matches any run of characters
(also none) and may only end a pattern, `?` matches one character, `[...]` is a set
of characters and `a-z` ranges, `[!...]` its complement, and a `[` with no closing
`]` is a plain character. A value starting with `~` is a regular expression searched
anywhere in the name (Go's `MatchString`), as in DM's block/allow list.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Matcher = Callable[[str], bool]


class PatternError(ValueError):
    """A pattern that DM would refuse."""


def compile_wildcard(pattern: str) -> re.Pattern[str]:
    """Translate a DM wildcard into an anchored regular expression."""
    if not pattern:
        raise PatternError("pattern must not be empty")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if i != len(pattern) - 1:
                raise PatternError(f"pattern {pattern!r}: '*' may only be the last character")
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            out.append(_char_set(pattern[i + 1 : end]))
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _char_set(body: str) -> str:
    """`[...]` contents as DM reads them: `!` first negates, `a-z` is a range."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if negate and not body:  # `[!]` is the character `!` itself
        return re.escape("!")
    items: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = body[i], body[i + 2]
            if lo <= hi:  # DM keeps a reversed range, which then matches nothing
                items.append(f"{re.escape(lo)}-{re.escape(hi)}")
            i += 3
        else:
            items.append(re.escape(body[i]))
            i += 1
    if not items:
        return "." if negate else "(?!)"
    return "[" + ("^" if negate else "") + "".join(items) + "]"


def wildcard_matcher(pattern: str) -> Matcher:
    """A predicate telling whether a whole name matches a DM wildcard."""
    compiled = compile_wildcard(pattern)
    return lambda name: compiled.fullmatch(name) is not None


def regex_matcher(expr: str, *, case_sensitive: bool) -> Matcher:
    """A predicate searching a name for a regular expression (the text after `~`)."""
    try:
        compiled = re.compile(expr, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise PatternError(f"regular expression {expr!r}: {exc}") from None
    return lambda name: compiled.search(name) is not None


def value_matcher(value: str, *, case_sensitive: bool) -> Matcher:
    """Matcher for a block/allow-list value: `~regex` or a wildcard.

    Wildcards are folded to lower case unless `case_sensitive`; the caller folds
    the names it matches the same way.
    """
    if value.startswith("~"):
        return regex_matcher(value[1:], case_sensitive=case_sensitive)
    return wildcard_matcher(value if case_sensitive else value.lower())


def check_wildcard(pattern: str) -> None:
    """Raise PatternError when DM would refuse the wildcard."""
    compile_wildcard(pattern)


def check_value(value: str) -> None:
    """Raise PatternError when DM would refuse the `~regex` or wildcard value."""
    value_matcher(value, case_sensitive=True)
