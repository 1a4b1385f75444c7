"""Character sets and collations as the schema tracker resolves them (names only, no codecs).

A column's effective charset is its own, else the table default, else the database default,
else the server default; a charset without a collation takes that charset's default
collation, which differs between MariaDB and MySQL 8 for utf8mb4.
"""

from __future__ import annotations

from typing import NamedTuple

MARIADB, MYSQL = "mariadb", "mysql"

_DEFAULT_COLLATION = {
    "utf8mb4": "utf8mb4_general_ci", "utf8mb3": "utf8mb3_general_ci",
    "latin1": "latin1_swedish_ci", "latin2": "latin2_general_ci", "ascii": "ascii_general_ci",
    "binary": "binary", "gbk": "gbk_chinese_ci", "gb2312": "gb2312_chinese_ci",
    "gb18030": "gb18030_chinese_ci", "big5": "big5_chinese_ci", "ucs2": "ucs2_general_ci",
    "utf16": "utf16_general_ci", "utf16le": "utf16le_general_ci",
    "utf32": "utf32_general_ci", "cp1250": "cp1250_general_ci", "cp1251": "cp1251_general_ci",
    "cp1256": "cp1256_general_ci", "cp1257": "cp1257_general_ci", "cp850": "cp850_general_ci",
    "cp852": "cp852_general_ci", "cp866": "cp866_general_ci", "cp932": "cp932_japanese_ci",
    "sjis": "sjis_japanese_ci", "ujis": "ujis_japanese_ci", "eucjpms": "eucjpms_japanese_ci",
    "euckr": "euckr_korean_ci", "greek": "greek_general_ci", "hebrew": "hebrew_general_ci",
    "koi8r": "koi8r_general_ci", "koi8u": "koi8u_general_ci", "latin5": "latin5_turkish_ci",
    "latin7": "latin7_general_ci", "tis620": "tis620_thai_ci", "swe7": "swe7_swedish_ci",
    "hp8": "hp8_english_ci", "dec8": "dec8_swedish_ci", "armscii8": "armscii8_general_ci",
    "geostd8": "geostd8_general_ci", "keybcs2": "keybcs2_general_ci",
    "macce": "macce_general_ci", "macroman": "macroman_general_ci",
}
_MYSQL_DEFAULTS = {"utf8mb4": "utf8mb4_0900_ai_ci"}

# Bytes per character, for CONVERT TO CHARACTER SET's widening of TEXT columns.
_MAXLEN = {"utf8mb4": 4, "utf8mb3": 3, "utf16": 4, "utf16le": 4, "utf32": 4, "gb18030": 4,
           "ucs2": 2, "gbk": 2, "gb2312": 2, "big5": 2, "sjis": 2, "cp932": 2, "euckr": 2,
           "ujis": 3, "eucjpms": 3}


class Charset(NamedTuple):
    charset: str
    collation: str


def normalize(name: str) -> str:
    """Lower case, and `utf8` spelled `utf8mb3` as current servers print it."""
    name = name.lower()
    if name == "utf8":
        return "utf8mb3"
    if name.startswith("utf8_"):
        return "utf8mb3_" + name[5:]
    return name


def default_collation(charset: str, flavor: str = MARIADB) -> str:
    charset = normalize(charset)
    if flavor == MYSQL and charset in _MYSQL_DEFAULTS:
        return _MYSQL_DEFAULTS[charset]
    return _DEFAULT_COLLATION.get(charset, charset + "_general_ci")


def charset_of(collation: str) -> str:
    collation = normalize(collation)
    return collation.split("_", 1)[0]


def resolve(charset: str | None, collation: str | None, inherited: Charset,
            flavor: str = MARIADB, *, binary_collation: bool = False) -> Charset:
    """The effective (charset, collation) of a declaration that may name either, both or
    neither; `binary_collation` is the `BINARY` type attribute (the charset's _bin
    collation)."""
    if collation:
        collation = normalize(collation)
        return Charset(normalize(charset) if charset else charset_of(collation), collation)
    if charset:
        cs = normalize(charset)
        base = Charset(cs, default_collation(cs, flavor))
    else:
        base = inherited
    if binary_collation and base.charset != "binary":
        return Charset(base.charset, base.charset + "_bin")
    return base


def maxlen(charset: str) -> int:
    return _MAXLEN.get(normalize(charset), 1)
