"""dmctl's human view: progress bars and the subtask table."""

from dm.ctl.view import progress_bar, render_table

ANSWER = {"result": True, "msg": "", "sources": [{
    "result": True, "msg": "", "sourceStatus": {"source": "s1", "worker": "w1"},
    "subTaskStatus": [{"name": "t", "stage": "Paused", "unit": "Load",
                       "load": {"progress": "37.50 %"},
                       "result": {"errors": [{"Message": "loading x failed"}]}}]}]}


def test_progress_bar() -> None:
    assert progress_bar("37.50 %", width=8) == "[###-----]  37.50 %"
    assert progress_bar("100.00 %", width=4) == "[####] 100.00 %"
    assert progress_bar(None) == ""


def test_table_shows_stage_progress_and_error() -> None:
    text = render_table("query-status", ANSWER)
    for part in ("s1", "w1", "Paused", "Load", "37.50 %", "loading x failed"):
        assert part in text


def test_failed_answer_shows_its_message() -> None:
    text = render_table("start-task", {"result": False, "msg": "[code=38032] no source"})
    assert "error: [code=38032] no source" in text
