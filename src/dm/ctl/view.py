"""`--output table`: a human view of dmctl answers (tables, progress), built with rich."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text


def _row(table: Table, *cells: str) -> None:
    """Cells are plain text: `[...]` in an error message is not rich markup."""
    table.add_row(*(Text(str(c)) for c in cells))


def progress_bar(progress: object, width: int = 24) -> str:
    """`[#########---------------]  37.50 %` from DM's "37.50 %" progress text."""
    text = str(progress or "").strip()
    try:
        share = min(max(float(text.rstrip(" %")) / 100, 0.0), 1.0)
    except ValueError:
        return text
    done = round(share * width)
    return f"[{'#' * done}{'-' * (width - done)}] {share * 100:6.2f} %"


def subtask_table(answer: dict[str, Any]) -> Table:
    table = Table("source", "worker", "task", "stage", "unit", "progress", "error")
    for src in answer.get("sources", []):
        status = src.get("sourceStatus", {})
        for st in src.get("subTaskStatus", []):
            unit_status = st.get("load") or st.get("dump") or {}
            errors = (st.get("result") or {}).get("errors") or []
            _row(table, status.get("source", ""), status.get("worker", ""), st["name"],
                 st["stage"], st["unit"], progress_bar(unit_status.get("progress")),
                 errors[0]["Message"] if errors else "")
        if not src.get("result"):
            _row(table, status.get("source", ""), "", "", "", "", "", src.get("msg", ""))
    return table


def _task_rows(answer: dict[str, Any]) -> Table:
    table = Table("task", "status", "sources")
    for t in answer["tasks"]:
        _row(table, t["taskName"], t["taskStatus"], ", ".join(t["sources"]))
    return table


def render_table(command: str, answer: dict[str, Any]) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    if command == "query-status" and "tasks" in answer:
        console.print(_task_rows(answer))
    elif command == "query-status" and "sources" in answer:
        console.print(subtask_table(answer))
    else:
        console.print(json.dumps(answer, indent=2, ensure_ascii=False), markup=False)
    if not answer.get("result"):
        console.print(f"error: {answer.get('msg', '')}", markup=False)
    return out.getvalue().rstrip("\n")


def watch_status(fetch: Callable[[], dict[str, Any]], interval: float = 0.5) -> None:
    """`query-status <task> --watch`: a live table until no subtask is still running."""
    with Live(Text("waiting for the first answer..."), refresh_per_second=4) as live:
        while True:
            answer = fetch()
            live.update(subtask_table(answer))
            stages = [st["stage"] for s in answer.get("sources", [])
                      for st in s.get("subTaskStatus", [])]
            if not answer.get("result") or (stages and all(
                    s in ("Finished", "Paused", "Stopped") for s in stages)):
                return
            time.sleep(interval)
