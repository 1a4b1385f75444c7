"""Dump-side pure pieces: TSV expressions, chunk ranges, file names, metadata round trip."""

from pathlib import Path

import pytest

from dm.binlog.location import parse_dump_metadata
from dm.dump.metadata import write_metadata
from dm.dump.plan import Chunk, DumpPlan, TablePlan, file_part
from dm.dump.snapshot import SnapshotPosition
from dm.dump.tsv import row_expr, value_expr
from dm.schema.catalog import holds_data


def test_text_columns_are_escaped_and_numbers_are_not() -> None:
    assert "REPLACE" in value_expr("c", "varchar")
    assert "REPLACE" in value_expr("b", "bit")
    assert "REPLACE" not in value_expr("i", "int")
    assert value_expr("i", "int") == "IFNULL(CAST(`i` AS BINARY), '\\\\N')"


def test_float_goes_through_double_and_names_are_quoted() -> None:
    assert "CAST(`we``ird` AS DOUBLE)" in value_expr("we`ird", "float")
    assert row_expr([("a", "int"), ("b", "text")]).startswith("CONCAT_WS('\\t', ")


def test_chunk_ranges_cover_the_key_space() -> None:
    plan = TablePlan("s", "t", [("id", "int")], "id",
                     [Chunk(0, None, 10), Chunk(1, 10, 20), Chunk(2, 20, None)])
    assert plan.where(plan.chunks[0]) == " WHERE `id` < 10"
    assert plan.where(plan.chunks[1]) == " WHERE `id` >= 10 AND `id` < 20"
    assert plan.where(plan.chunks[2]) == " WHERE `id` >= 20"
    assert TablePlan("s", "t", [], None).where(Chunk(0, None, None)) == ""


def test_plan_round_trips_through_its_file(tmp_path: Path) -> None:
    plan = DumpPlan([TablePlan("s", "t", [("id", "int"), ("v", "text")], "id",
                               [Chunk(0, None, 5), Chunk(1, 5, None)])])
    plan.save(tmp_path)
    assert DumpPlan.load(tmp_path) == plan
    assert DumpPlan.load(tmp_path / "missing") is None


@pytest.mark.parametrize(("name", "part"), [("full/mode", "full%2Fmode"), ('tb"1', "tb%221"),
                                            ("a.b", "a%2Eb"), ("plain_1", "plain_1")])
def test_file_names_escape_separators(name: str, part: str) -> None:
    assert file_part(name) == part


def test_metadata_is_dm_shaped_and_keeps_earliest_and_latest(tmp_path: Path) -> None:
    first = SnapshotPosition("bin.000001", 4, "0-1-5", 0.0, 0.001)
    later = SnapshotPosition("bin.000002", 400, "0-1-9", 10.0, 0.001)
    write_metadata(tmp_path, [first, later])
    text = (tmp_path / "metadata").read_text()
    assert "SHOW MASTER STATUS:\n\tLog: bin.000001\n\tPos: 4\n\tGTID:0-1-5\n" in text
    assert "/* AFTER CONNECTION POOL ESTABLISHED */\n\tLog: bin.000002" in text
    meta = parse_dump_metadata(text)
    assert (meta.location.file, meta.location.pos, str(meta.location.gtid_set)) == (
        "bin.000001", 4, "0-1-5")
    assert meta.location_after is not None and meta.location_after.pos == 400


@pytest.mark.parametrize(("extra", "expression", "holds"), [
    ("", None, True), ("", "", True), ("auto_increment", "", True),
    ("DEFAULT_GENERATED", "", True),  # MySQL 8: DEFAULT CURRENT_TIMESTAMP / DEFAULT (uuid())
    ("DEFAULT_GENERATED on update CURRENT_TIMESTAMP", "", True),
    ("on update current_timestamp()", None, True),  # MariaDB
    ("VIRTUAL GENERATED", "(`a` + 1)", False), ("STORED GENERATED", "(`a` * 2)", False),
    ("VIRTUAL GENERATED", "", False),
    ("VIRTUAL", "`a` + 1", False), ("PERSISTENT", "`a` * 2", False), ("STORED", "`a`", False),
])
def test_which_columns_hold_data(extra: str, expression: str | None, holds: bool) -> None:
    """Review finding 3: MySQL 8's DEFAULT_GENERATED columns were left out of the dump."""
    assert holds_data(extra, expression) is holds
