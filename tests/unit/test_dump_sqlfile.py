"""Splitting SQL dump files into statements, whatever the block size cuts."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dm.dump.sqlfile import statements

MYDUMPER = (b"/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n"
            b"/*!40103 SET TIME_ZONE='+00:00' */;\nINSERT INTO `t` VALUES\n"
            b"(1,\"a;\\nb\",\"\\0\xff\\n\\r\\'\",\"2020-01-01 00:00:00\"),\n(2,NULL,NULL,NULL),\n"
            b"(3,\"it\\'s\",\"x\\\\y\",NULL);\n")


def _split(tmp_path: Path, data: bytes, block: int) -> list[tuple[bytes, int]]:
    path = tmp_path / "f.sql"
    path.write_bytes(data)
    return list(statements(path, block))


def test_a_mydumper_file_splits_into_its_statements_at_every_block_size(tmp_path: Path
                                                                       ) -> None:
    whole = _split(tmp_path, MYDUMPER, 1 << 20)
    assert [s for s, _ in whole] == [
        b"/*!40101 SET NAMES binary*/", b"/*!40014 SET FOREIGN_KEY_CHECKS=0*/",
        b"/*!40103 SET TIME_ZONE='+00:00' */", MYDUMPER[MYDUMPER.index(b"INSERT"):-2]]
    assert [end for _, end in whole] == [MYDUMPER.index(b";\n", i) + 1 for i in (
        0, 30, 70, 110)]
    for block in range(1, 40):
        assert _split(tmp_path, MYDUMPER, block) == whole


def test_semicolons_in_strings_names_and_comments_do_not_end_a_statement(tmp_path: Path
                                                                        ) -> None:
    data = (b"INSERT INTO `a;b` VALUES ('x;''y', \"p;\"\"q\", 'z\\';'); -- c; d\n"
            b"# e; f\nINSERT INTO t VALUES (/* g; h */ 1);\n-- the end; really\n")
    assert [s for s, _ in _split(tmp_path, data, 7)] == [
        b"INSERT INTO `a;b` VALUES ('x;''y', \"p;\"\"q\", 'z\\';')",
        b"-- c; d\n# e; f\nINSERT INTO t VALUES (/* g; h */ 1)"]


def test_a_last_statement_without_semicolon_is_kept_and_trailing_comments_are_not(
        tmp_path: Path) -> None:
    assert [s for s, _ in _split(tmp_path, b"SET a=1;\nINSERT INTO t VALUES (1)\n", 4)] \
        == [b"SET a=1", b"INSERT INTO t VALUES (1)"]
    assert [s for s, _ in _split(tmp_path, b"SET a=1;\n/* done */\n-- bye\n", 4)] \
        == [b"SET a=1"]


_VALUE = st.one_of(
    st.integers().map(lambda i: str(i).encode()),
    st.binary(max_size=12).map(
        lambda b: b"'" + b.replace(b"\\", b"\\\\").replace(b"'", b"\\'").replace(
            b"\n", b"\\n") + b"'"),
    st.binary(max_size=12).map(lambda b: b'"' + b.replace(b"\\", b"\\\\").replace(
        b'"', b'""') + b'"'))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # one file rewritten
@given(rows=st.lists(st.lists(_VALUE, min_size=1, max_size=4), min_size=1, max_size=6),
       block=st.integers(min_value=1, max_value=64))
def test_any_insert_survives_any_block_size(tmp_path: Path, rows: list[list[bytes]],
                                            block: int) -> None:
    stmts = [b"INSERT INTO `t` VALUES (" + b",".join(r) + b")" for r in rows]
    data = b"".join(s + b";\n" for s in stmts)
    assert [s for s, _ in _split(tmp_path, data, block)] == stmts
