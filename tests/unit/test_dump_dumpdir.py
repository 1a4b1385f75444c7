"""Reading a dump directory written by mydumper or dumpling, and claiming one for a dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm import errors
from dm.dump.dumpdir import DumpDirectory, claim_directory, schema_statements


def _everything(schema: str, table: str) -> bool:
    return True


def _files(path: Path, *names: str) -> Path:
    path.mkdir(exist_ok=True)
    for name in names:
        (path / name).write_text("CREATE TABLE `x` (a INT);\n" if "schema" in name else "")
    return path


def test_mydumper_and_dumpling_names_give_tables_and_their_data_files_in_order(
        tmp_path: Path) -> None:
    path = _files(tmp_path / "d", "metadata", "db-schema-create.sql", "db.t-schema.sql",
                  "db.t.00001.sql", "db.t.00000.sql", "db.u-schema.sql", "db.u.sql",
                  "db.v-schema.sql", "db.w-schema.sql", "db.w.0000000010000.sql",
                  "db.w.000000000.sql", "mysql-schema-create.sql", "mysql.user-schema.sql",
                  "mysql.user.sql", "notes.txt")
    dump = DumpDirectory.read(path, _everything)
    assert list(dump.databases) == ["db"]
    got = {(t.schema, t.table): [f.path.name for f in t.files] for t in dump.tables}
    assert got == {("db", "t"): ["db.t.00000.sql", "db.t.00001.sql"], ("db", "u"): ["db.u.sql"],
                   ("db", "v"): [],
                   ("db", "w"): ["db.w.000000000.sql", "db.w.0000000010000.sql"]}
    assert all(f.columns is None for t in dump.tables for f in t.files)


def test_block_allow_list_leaves_tables_out(tmp_path: Path) -> None:
    path = _files(tmp_path / "d", "db-schema-create.sql", "db.t-schema.sql", "db.t.sql",
                  "db.skip-schema.sql", "db.skip.sql", "db.skip-schema-view.sql")
    dump = DumpDirectory.read(path, lambda schema, table: table != "skip")
    assert [t.table for t in dump.tables] == ["t"]


@pytest.mark.parametrize(("name", "what"), [
    ("db.v-schema-view.sql", "a view"), ("db.t-schema-triggers.sql", "triggers"),
    ("db-schema-post.sql", "routines or events"), ("db.t.000.csv", "a CSV or Parquet data file"),
    ("db.t.00000.sql.gz", "a compressed file"), ("db.t-schema.sql.zst", "a compressed file")])
def test_files_pydm_cannot_load_are_refused_by_name(tmp_path: Path, name: str, what: str) -> None:
    path = _files(tmp_path / "d", "db-schema-create.sql", "db.t-schema.sql", name)
    with pytest.raises(errors.DMError) as info:
        DumpDirectory.read(path, _everything)
    assert info.value.code == errors.LOAD_FILE_REFUSED.code
    assert str(path / name) in info.value.message and what in info.value.message


def test_a_data_file_without_its_schema_file_is_refused(tmp_path: Path) -> None:
    path = _files(tmp_path / "d", "db-schema-create.sql", "db.t.sql")
    with pytest.raises(errors.DMError) as info:
        DumpDirectory.read(path, _everything)
    assert info.value.code == errors.LOAD_NO_TABLE_FILE.code
    assert "db.t-schema.sql" in info.value.message


def test_a_directory_without_a_dump_is_refused(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", _files(tmp_path / "empty", "notes.txt")):
        with pytest.raises(errors.DMError) as info:
            DumpDirectory.read(path, _everything)
        assert info.value.code == errors.LOAD_DUMP_DIR.code and str(path) in info.value.message


def test_an_unfinished_pydm_dump_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d"
    path.mkdir()
    (path / "dump-plan.json").write_text('{"tables": []}')
    with pytest.raises(errors.DMError) as info:
        DumpDirectory.read(path, _everything)
    assert info.value.code == errors.LOAD_DUMP_UNFINISHED.code


def test_schema_statements_keeps_the_session_sets_and_finds_the_create(tmp_path: Path) -> None:
    path = tmp_path / "db.t-schema.sql"
    path.write_text("/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n\n"
                    "/*!40103 SET TIME_ZONE='+00:00' */;\nCREATE TABLE `t` (\n  `a` int\n);\n")
    sets, create = schema_statements(path)
    assert sets == ["/*!40101 SET NAMES binary*/", "/*!40014 SET FOREIGN_KEY_CHECKS=0*/",
                    "/*!40103 SET TIME_ZONE='+00:00' */"]
    assert create == "CREATE TABLE `t` (\n  `a` int\n)"
    path.write_text("SET NAMES binary;\nDROP TABLE `t`;\nCREATE TABLE `t` (a INT);\n")
    with pytest.raises(errors.DMError) as info:
        schema_statements(path)
    assert info.value.code == errors.LOAD_NOT_CREATE.code and str(path) in info.value.message


def test_a_dump_directory_is_kept_by_its_task_when_finished_emptied_or_refused(
        tmp_path: Path) -> None:
    path = _files(tmp_path / "d", "metadata", "db.t.000001.tsv", "dump-plan.json")
    claim_directory(path, "task", "src")  # dump files of no task: emptied, as DM does
    assert sorted(p.name for p in path.iterdir()) == ["dump-task.json"]
    _files(path, "db.t.000001.tsv", "snapshots.json")
    claim_directory(path, "task", "src")  # its own unfinished dump: over again, as DM's
    assert sorted(p.name for p in path.iterdir()) == ["dump-task.json"]
    _files(path, "db.t.000001.tsv", "dump.done")
    claim_directory(path, "task", "src")  # its own finished dump: kept
    assert (path / "db.t.000001.tsv").exists()
    claim_directory(path, "other", "src")  # another task's dump: emptied
    assert not (path / "db.t.000001.tsv").exists()
    _files(path, "precious.txt")
    with pytest.raises(errors.DMError) as info:
        claim_directory(path, "task", "src")
    assert info.value.code == errors.DUMP_DIR_IN_USE.code and "precious.txt" in \
        info.value.message
    assert (path / "precious.txt").exists()
