"""Causality's string keys checked against MariaDB's own collations: exact keys (general_ci,
unicode_ci, binary) agree with the server both ways; for other collations printable ASCII
is never split from what the server calls equal, and the values that make a change run
alone really do equal other values on the server (so no fold may be trusted with them)."""

from __future__ import annotations

import itertools
import random

import pytest
from pymysql.cursors import Cursor

from dm.schema.table import Column, Index, TableInfo
from dm.sync.causality import change_keys
from dm.sync.change import ChangeKind, RowChange

pytestmark = pytest.mark.integration

COLLATIONS = ("utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci",
              "utf8mb4_danish_ci", "utf8mb4_uca1400_ai_ci", "utf8mb4_general_nopad_ci",
              "utf8mb4_bin", "latin1_swedish_ci", "latin1_general_cs", "latin1_bin")
ASCII = ["a", "A", "a ", "A  ", "aa", "ab", "AB", "a-b", "a_b", "ch", "CH", "c", "h", "ss", "s",
         "", " ", "1", "01", "0x1", "Y", "y", "ae", "oe", "ij", "ll", "l"]
# value, another value: equal under a collation pydm has no weights for, though no
# case/space fold says so
HIDDEN_EQUALS = [
    ("utf8mb4_danish_ci", "\u00e5", "aa"),
    ("latin1_swedish_ci", "\u00dc", "Y"),
    ("utf8mb4_unicode_520_ci", "a\x01", "a"),
    ("utf8mb4_uca1400_ai_ci", "\u00f8", "o"),
]
EXACT = ("utf8mb4_general_ci", "utf8mb4_general_nopad_ci", "utf8mb4_unicode_ci",
         "utf8mb4_unicode_nopad_ci", "utf8mb4_bin", "utf8mb4_nopad_bin", "utf8mb3_general_ci",
         "utf8mb3_unicode_ci")
# characters whose equals the collations disagree on: case, accents, expansions, ligatures,
# ignorables, spaces and what weighs as one, CJK, emoji (supplementary, utf8mb4 only)
POOL = ("a", "A", "\u00e1", "\u00c5", "\u00e5", "s", "S", "\u00df", "ss", "\u00e6", "ae",
        "\ufb01", "fi", "o", "\u00f8", "\u0301", "\x01", " ", "\u00a0", "\u3000", "\u4e2d",
        "\uff21", "\u0130", "i", "\u0131", "\U0001f600", "\U0001f37a", "y", "\u00dc", "u")


def _key(collation: str, value: str) -> list[int] | None:
    charset = collation.split("_")[0]
    info = TableInfo("db", "t", (Column("s", "varchar", nullable=False, charset=charset,
                                        collation=collation),),
                     (Index("PRIMARY", ("s",), True, True),))
    return change_keys(RowChange(ChangeKind.INSERT, info, ("db", "t"), None, (value,)))


def _equal(cur: Cursor, collation: str, a: str, b: str) -> bool:
    charset = collation.split("_")[0]
    cur.execute(f"SELECT CONVERT(%s USING {charset}) COLLATE {collation} = "
                f"CONVERT(%s USING {charset}) COLLATE {collation}", (a, b))
    return bool(cur.fetchone()[0])


@pytest.fixture
def cur(utf8_cursor: Cursor) -> Cursor:
    return utf8_cursor


@pytest.mark.parametrize("collation", COLLATIONS)
def test_ascii_values_the_server_calls_equal_share_a_key(cur: Cursor, collation: str) -> None:
    for a, b in itertools.combinations(ASCII, 2):
        if _equal(cur, collation, a, b):
            assert _key(collation, a) == _key(collation, b), (collation, a, b)


@pytest.mark.parametrize("collation", EXACT)
def test_exact_keys_are_equal_exactly_when_the_server_says_so(cur: Cursor,
                                                              collation: str) -> None:
    rng = random.Random(collation)
    pool = POOL if collation.startswith("utf8mb4") else POOL[:-4] + POOL[-2:]  # BMP only
    words = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 4))) for _ in range(400)]
    pairs = [(w, rng.choice(words)) for w in words]
    pairs += [(w, w.upper() + " ") for w in words]
    mismatches = [(a, b) for a, b in pairs
                  if _equal(cur, collation, a, b) != (_key(collation, a) == _key(collation, b))]
    assert not mismatches, mismatches[:10]
    assert sum(_equal(cur, collation, a, b) for a, b in pairs) >= 10  # equals were tried


@pytest.mark.parametrize(("collation", "value", "other"), HIDDEN_EQUALS)
def test_values_with_hidden_equals_run_alone(cur: Cursor, collation: str, value: str,
                                             other: str) -> None:
    assert _equal(cur, collation, value, other)
    assert _key(collation, value) is None
