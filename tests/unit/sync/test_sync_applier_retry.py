"""Which downstream errors the appliers retry (safe mode, same batch), as DM does."""

import pymysql
import pytest

from dm import errors
from dm.sync.applier import _retryable, retry_delay


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


@pytest.mark.parametrize("code", [1213, 1205, 9007])
def test_lock_conflicts_are_retried_at_once_with_jitter(code: int) -> None:
    exc = pymysql.err.OperationalError(code, "Deadlock found when trying to get lock")
    delays = [retry_delay(exc, attempt) for attempt in range(3) for _ in range(50)]
    assert all(0 <= d <= 0.03 for d in delays) and len(set(delays)) > 1
    assert retry_delay(exc, 99) <= 0.5


def test_a_lost_connection_waits_for_the_server() -> None:
    exc = pymysql.err.OperationalError(2013, "Lost connection to server during query")
    assert retry_delay(exc, 0) == 0.2 and retry_delay(exc, 1) == 3.0
