"""RowChange from decoded binlog rows, and the identity key of a table."""

from __future__ import annotations

import pytest

from dm.errors import DMError
from dm.sync.change import DELETE, INSERT, UPDATE, RowChange, identity_key

from .tables import KEYLESS, NN_UK, NULL_UK, PK_UK, SBTEST, TARGET, col, pk, table


def test_from_binlog_kinds() -> None:
    row, new = (1, 2, "c", "p"), (1, 3, "c", "p")
    assert RowChange.from_binlog("insert", SBTEST, TARGET, row, "loc") == (
        INSERT, SBTEST, TARGET, None, row, "loc")
    assert RowChange.from_binlog("delete", SBTEST, TARGET, row) == (
        DELETE, SBTEST, TARGET, row, None, None)
    assert RowChange.from_binlog("update", SBTEST, TARGET, (row, new)) == (
        UPDATE, SBTEST, TARGET, row, new, None)


@pytest.mark.parametrize("kind,row", [("insert", (1, 2)), ("update", ((1, 2, 3, 4), (1,)))])
def test_column_count_mismatch_is_error_36027(kind: str, row: object) -> None:
    with pytest.raises(DMError) as caught:
        RowChange.from_binlog(kind, SBTEST, TARGET, row)
    assert caught.value.spec.code == 36027
    assert "`up`.`t`" in caught.value.message


def test_identity_key_is_pk_then_first_not_null_unique_key() -> None:
    key = identity_key(PK_UK)
    assert key is not None and key.names == ("id",) and key.positions == (0,)
    nn = identity_key(NN_UK)
    assert nn is not None and nn.names == ("a", "b") and nn.of((1, 2, 3)) == (1, 2)
    assert identity_key(NULL_UK) is None and identity_key(KEYLESS) is None


def test_identity_key_is_cached_per_table_version() -> None:
    assert identity_key(SBTEST) is identity_key(SBTEST)
    copy = table(list(SBTEST.columns), list(SBTEST.indexes))
    key, copy_key = identity_key(SBTEST), identity_key(copy)
    assert key is not None and copy_key is not None and copy_key is not key
    assert copy_key.names == key.names and copy_key.positions == key.positions


def test_identity_key_names_are_lower_case() -> None:
    info = table([col("v"), col("ID", null=False)], [pk("ID")])
    key = identity_key(info)
    assert key is not None and key.names == ("id",) and key.of((7, 8)) == 8
