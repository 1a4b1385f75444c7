"""When two strings are equal under a collation: exact keys where pydm knows the server's
weights, and nothing where it does not (callers must then be conservative).

MariaDB's `*_general_ci` and `*_unicode_ci` (UCA 4.0.0) collations compare strings by the
weights of their characters alone (no contractions), so a string's key is the sequence of
its characters' weights: equal keys if and only if the server calls the strings equal.
The weights of every BMP character come from MariaDB itself (scripts/collation_weights.py
wrote weights/*.bin); both give every supplementary character (emoji) one weight, 0xFFFD.
A PAD SPACE collation ignores trailing spaces (and whatever weighs as much as a space);
a `_nopad_` one does not. `_bin` collations compare code points. Anything else (language
tailorings, UCA 5.2 and 14, MySQL 8's `_0900_`, single-byte charsets) has no key here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

_WEIGHTS = Path(__file__).with_name("weights")
_NOT_A_CHARACTER = 255
_SUPPLEMENTARY = chr(0xFFFD)

Key = Callable[[str], str]


class _Table(dict[int, str]):
    """A `str.translate` table: code point -> its weights as characters."""

    def __missing__(self, cp: int) -> str:
        if cp > 0xFFFF:
            return _SUPPLEMENTARY
        raise LookupError(cp)  # not a character (a lone surrogate): left as it is


@cache
def _table(family: str) -> _Table:
    data = zlib.decompress((_WEIGHTS / f"{family}.bin").read_bytes())
    table = _Table()
    at = 0
    for cp in range(0x10000):
        n = data[at]
        at += 1
        if n == _NOT_A_CHARACTER:
            continue
        table[cp] = "".join(chr(int.from_bytes(data[at + 2 * i:at + 2 * i + 2], "big"))
                            for i in range(n))
        at += 2 * n
    return table


def exact_key(collation: str | None) -> Key | None:
    """A function giving strings equal keys exactly when `collation` calls them equal, or
    None when pydm does not know the collation's weights."""
    name = (collation or "").lower()
    charset, _, rest = name.partition("_")
    if charset not in ("utf8mb4", "utf8mb3", "utf8"):
        return _binary_key(name)
    family = {"general_ci": "general", "general_nopad_ci": "general",
              "unicode_ci": "unicode", "unicode_nopad_ci": "unicode"}.get(rest)
    if family is None:
        return _binary_key(name)
    table = _table(family)
    if "nopad" in rest:
        return lambda text: text.translate(table)
    space = table[ord(" ")]
    return lambda text: text.translate(table).rstrip(space)


def char_key(collation: str | None) -> Key | None:
    """For LIKE, which compares character by character and keeps trailing spaces: each
    character's weight, where every character has exactly one (the general_ci family);
    None elsewhere."""
    charset, _, rest = (collation or "").lower().partition("_")
    if charset not in ("utf8mb4", "utf8mb3", "utf8") or rest not in ("general_ci",
                                                                       "general_nopad_ci"):
        return None
    table = _table("general")
    return lambda text: text.translate(table)


def _binary_key(name: str) -> Key | None:
    """`_bin` collations compare code points; PAD SPACE unless `_nopad_bin`/`_0900_bin`."""
    if not name.endswith("_bin"):
        return None
    if name.endswith(("_nopad_bin", "_0900_bin")):
        return lambda text: text
    return lambda text: text.rstrip(" ")
