"""The DDL tokeniser: quoting, comments, executable comments, statement splitting."""

from __future__ import annotations

import pytest

from dm.schema.lexer import LexError, T, quote_name, split_statements, tokenize


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE table `a``b`", [(T.WORD, "CREATE"), (T.WORD, "TABLE"), (T.QUOTED, "a`b")]),
    ("'it''s' \"q\\\"\" 'a\\nb'", [(T.STRING, "it's"), (T.STRING, 'q"'), (T.STRING, "a\nb")]),
    ("x -- comment\n y # other\n z /* c */ w", [(T.WORD, "X"), (T.WORD, "Y"), (T.WORD, "Z"),
                                               (T.WORD, "W")]),
    ("a /*!50100 PARTITION BY */ b", [(T.WORD, "A"), (T.WORD, "PARTITION"), (T.WORD, "BY"),
                                      (T.WORD, "B")]),
    ("/*M!100100 x */ /*! y */", [(T.WORD, "X"), (T.WORD, "Y")]),
    ("1.5 0x1F 1e3 10", [(T.NUMBER, "1.5"), (T.NUMBER, "0x1F"), (T.NUMBER, "1e3"),
                         (T.NUMBER, "10")]),
    ("t1 1abc", [(T.WORD, "T1"), (T.WORD, "1ABC")]),
    ("'root'@'%' @@x", [(T.STRING, "root"), (T.VARIABLE, "@'%'"), (T.VARIABLE, "@@x")]),
    ("a<=>b", [(T.WORD, "A"), (T.PUNCT, "<=>"), (T.WORD, "B")]),
])
def test_tokens(sql: str, expected: list[tuple[T, str]]) -> None:
    assert [(t.kind, t.value) for t in tokenize(sql)] == expected


def test_ansi_quotes_makes_double_quotes_names() -> None:
    assert [t.kind for t in tokenize('"a"', ansi_quotes=True)] == [T.QUOTED]
    assert [t.kind for t in tokenize('"a"')] == [T.STRING]


def test_spans_point_into_the_text() -> None:
    sql = "ALTER TABLE `db`.t ADD c int"
    assert [sql[t.start:t.end] for t in tokenize(sql)][:5] == ["ALTER", "TABLE", "`db`", ".",
                                                               "t"]


@pytest.mark.parametrize("sql", ["'open", "`open", "/* open"])
def test_unterminated(sql: str) -> None:
    with pytest.raises(LexError):
        tokenize(sql)


def test_split_statements() -> None:
    text = "use a;\ninsert into t values ('x;y'); -- c;\n/* ; */ select 1;;\n"
    assert split_statements(text) == ["use a", "insert into t values ('x;y')",
                                      "-- c;\n/* ; */ select 1"]


def test_quote_name() -> None:
    assert quote_name("a`b") == "`a``b`"
