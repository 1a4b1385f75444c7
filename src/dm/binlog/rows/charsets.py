"""MySQL/MariaDB character sets: collation ids to charset names, charset names to decoders.

Only exact mappings are listed; a charset without one is reported, never guessed.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from functools import cache

# charset -> collation ids (single ids or inclusive ranges). From MariaDB 10.11's
# information_schema.COLLATIONS, plus MySQL 8's utf8mb4_0900 family (255-323),
# utf8mb3_tolower_ci (76), gb18030 (248-250) and MariaDB's UCA-14.0.0 blocks (2048+).
_IDS: dict[str, list[int | tuple[int, int]]] = {
    "armscii8": [32, 64, 1056, 1088],
    "ascii": [11, 65, 1035, 1089],
    "big5": [1, 84, 1025, 1108],
    "binary": [63],
    "cp1250": [26, 34, 44, 66, 99, 1050, 1090],
    "cp1251": [14, 23, (50, 52), (1074, 1075)],
    "cp1256": [57, 67, 1081, 1091],
    "cp1257": [29, (58, 59), (1082, 1083)],
    "cp850": [4, 80, 1028, 1104],
    "cp852": [40, 81, 1064, 1105],
    "cp866": [36, 68, 1060, 1092],
    "cp932": [(95, 96), (1119, 1120)],
    "dec8": [3, 69, 1027, 1093],
    "eucjpms": [(97, 98), (1121, 1122)],
    "euckr": [19, 85, 1043, 1109],
    "gb18030": [(248, 250)],
    "gb2312": [24, 86, 1048, 1110],
    "gbk": [28, 87, 1052, 1111],
    "geostd8": [(92, 93), (1116, 1117)],
    "greek": [25, 70, 1049, 1094],
    "hebrew": [16, 71, 1040, 1095],
    "hp8": [6, 72, 1030, 1096],
    "keybcs2": [37, 73, 1061, 1097],
    "koi8r": [7, 74, 1031, 1098],
    "koi8u": [22, 75, 1046, 1099],
    "latin1": [5, 8, 15, 31, (47, 49), 94, 1032, 1071],
    "latin2": [2, 9, 21, 27, 77, 1033, 1101],
    "latin5": [30, 78, 1054, 1102],
    "latin7": [20, (41, 42), 79, 1065, 1103],
    "macce": [38, 43, 1062, 1067],
    "macroman": [39, 53, 1063, 1077],
    "sjis": [13, 88, 1037, 1112],
    "swe7": [10, 82, 1034, 1106],
    "tis620": [18, 89, 1042, 1113],
    "ucs2": [35, 90, (128, 151), 159, (640, 642), 1059, 1114, 1152, 1174, (2560, 2815)],
    "ujis": [12, 91, 1036, 1115],
    "utf16": [(54, 55), (101, 124), (672, 674), (1078, 1079), 1125, 1147, (2816, 3071)],
    "utf16le": [56, 62, 1080, 1086],
    "utf32": [(60, 61), (160, 183), (736, 738), (1084, 1085), 1184, 1206, (3072, 3327)],
    "utf8mb3": [33, 76, 83, (192, 215), 223, (576, 578), 1057, 1107, 1216, 1238,
                (2048, 2303)],
    "utf8mb4": [(45, 46), (224, 247), (255, 323), (608, 610), (1069, 1070), 1248, 1270,
                (2304, 2559)],
}


def _build() -> dict[int, str]:
    table: dict[int, str] = {}
    for name, ids in _IDS.items():
        for item in ids:
            first, last = item if isinstance(item, tuple) else (item, item)
            table.update(dict.fromkeys(range(first, last + 1), name))
    return table


_BY_ID = _build()

# Exact Python codecs. MySQL's latin1 is cp1252 with its five holes mapped to C1 controls.
_CODECS = {
    "utf8mb4": "utf-8", "utf8mb3": "utf-8", "utf8": "utf-8", "ascii": "ascii",
    "ucs2": "utf-16-be", "utf16": "utf-16-be", "utf16le": "utf-16-le", "utf32": "utf-32-be",
    "cp1250": "cp1250", "cp1251": "cp1251", "cp1256": "cp1256", "cp1257": "cp1257",
    "cp850": "cp850", "cp852": "cp852", "cp866": "cp866", "cp932": "cp932",
    "latin2": "iso8859-2", "latin5": "iso8859-9", "latin7": "iso8859-13",
    "greek": "iso8859-7", "hebrew": "iso8859-8", "koi8r": "koi8-r", "koi8u": "koi8-u",
    "gbk": "gbk", "gb2312": "gb2312", "gb18030": "gb18030", "big5": "big5",
    "sjis": "shift_jis", "ujis": "euc_jp", "euckr": "euc_kr", "tis620": "tis-620",
    "macroman": "mac-roman", "macce": "mac-latin2",
}

LATIN1_TABLE = "".join(
    bytes([i]).decode("cp1252", "ignore") or chr(i) for i in range(256)
)
_charmap_decode = codecs.charmap_decode


def decode_latin1(data: bytes) -> str:
    """MySQL latin1 (cp1252 whose undefined bytes 0x81/0x8D/0x8F/0x90/0x9D map to U+0081...)."""
    return _charmap_decode(data, "strict", LATIN1_TABLE)[0]


def charset_of_collation(collation_id: int) -> str | None:
    return _BY_ID.get(collation_id)


def python_codec(charset: str) -> str | None:
    """The exact Python codec of a MySQL charset; None if Python has none ("latin1" is
    handled by `decode_latin1`, "binary" is not text)."""
    return _CODECS.get(charset.lower())


def is_binary(charset: str | None) -> bool:
    return charset is not None and charset.lower() == "binary"


@cache
def text_decoder(charset: str) -> Callable[[bytes], str] | None:
    """A bytes -> str function for a MySQL charset; None for an unknown charset."""
    if charset.lower() == "latin1":
        return decode_latin1
    codec = python_codec(charset)
    if codec is None:
        return None

    def decode(data: bytes) -> str:
        return data.decode(codec)

    return decode
