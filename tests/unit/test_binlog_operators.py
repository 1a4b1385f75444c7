"""dm.sync.operators: DM's -b/--binlog-pos forms, and the operators' order against a
checkpoint."""

import pytest

from dm import errors
from dm.binlog.location import Location
from dm.sync.operators import SKIP, Operator, parse_binlog_pos


@pytest.mark.parametrize(("text", "expected"), [
    ("mysql-bin.000003:3270", ("mysql-bin.000003", 3270)),
    ("mysql-bin|000001.000003:3270", ("mysql-bin.000003", 3270)),  # the relay's form
    ("'binlog.000012:4'", ("binlog.000012", 4)),  # quoted, as DM trims
])
def test_binlog_pos_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_binlog_pos(text) == expected


@pytest.mark.parametrize("text", ["nonsense", "binlog.000001:", ":4", "binlog.000001:x"])
def test_a_bad_binlog_pos_is_11118(text: str) -> None:
    with pytest.raises(errors.DMError) as caught:
        parse_binlog_pos(text)
    assert caught.value.code == 11118


def test_an_operator_is_done_once_the_checkpoint_passed_its_event() -> None:
    op = Operator(SKIP, "binlog.000002", 500)
    assert op.before(Location("binlog.000002", 620))  # the checkpoint after the DDL
    assert not op.before(Location("binlog.000002", 500))
    assert not op.before(Location("binlog.000001", 9000))
    assert Operator.from_json(op.to_json()) == op
