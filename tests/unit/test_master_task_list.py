"""The task list of `query-status` without a task: each subtask's stage as DM derives it."""

from __future__ import annotations

from typing import Any

import pytest

from dm.master.tasks import source_stages

FAILED = {"isCanceled": False, "errors": [{"ErrCode": 30043}]}


def _status(relay: dict[str, Any] | None, *subs: tuple[str, str, Any]) -> dict[str, Any]:
    return {"relayStatus": relay, "subTaskStatus": [
        {"stage": stage, "unit": unit, "result": result} for stage, unit, result in subs]}


@pytest.mark.parametrize(("relay", "subs", "expected"), [
    (None, [("Running", "Sync", None)], ["Running"]),
    (None, [("Paused", "Sync", FAILED)], ["Error"]),
    # the relay stopped by an error: a syncing task shows Error, one still dumping does not
    ({"stage": "Paused", "result": FAILED}, [("Running", "Sync", None), ("Running", "Dump", None)],
     ["Error", "Running"]),
    # paused by hand (no error), or retrying while it runs: not an error
    ({"stage": "Paused", "result": None}, [("Running", "Sync", None)], ["Running"]),
    ({"stage": "Running", "result": FAILED}, [("Running", "Sync", None)], ["Running"]),
])
def test_a_syncing_task_shows_error_when_its_relay_stopped_on_one(
        relay: dict[str, Any] | None, subs: list[tuple[str, str, Any]],
        expected: list[str]) -> None:
    assert source_stages(_status(relay, *subs)) == expected
