"""Which downstream errors the appliers retry (safe mode, same batch), as DM does."""

import pymysql
import pytest

from dm import errors
from dm.sync.applier import _retryable


@pytest.mark.parametrize(("code", "text", "retried"), [
    (1213, "Deadlock found", True),
    (2013, "Lost connection", True),
    (9007, "Write conflict", True),  # TiDB's optimistic transactions
    (8028, "Information schema is changed", True),
    (9003, "TiKV server is busy", True),
    (1105, "Information schema is out of date: schema failed to update", True),
    (1105, "some other unknown error", False),
    (1062, "Duplicate entry", False),
    (1146, "Table doesn't exist", False),
])
def test_retryable_errors(code: int, text: str, retried: bool) -> None:
    assert _retryable(pymysql.err.OperationalError(code, text)) is retried


def test_an_unreachable_downstream_is_retried() -> None:
    assert _retryable(errors.DB_UNREACHABLE("refused", what="downstream", target="h:1",
                                            file="task.yaml"))
