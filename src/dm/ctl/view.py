"""`--output table`: a human view of dmctl answers (tables, progress), built with rich."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table


def _subtask_rows(answer: dict[str, Any]) -> Table:
    table = Table("source", "worker", "task", "stage", "unit", "progress", "error")
    for src in answer.get("sources", []):
        status = src.get("sourceStatus", {})
        for st in src.get("subTaskStatus", []):
            unit_status = st.get("load") or st.get("dump") or {}
            errors = (st.get("result") or {}).get("errors") or []
            table.add_row(status.get("source", ""), status.get("worker", ""), st["name"],
                          st["stage"], st["unit"], str(unit_status.get("progress", "")),
                          errors[0]["Message"] if errors else "")
        if not src.get("result"):
            table.add_row(status.get("source", ""), "", "", "", "", "", src.get("msg", ""))
    return table


def _task_rows(answer: dict[str, Any]) -> Table:
    table = Table("task", "status", "sources")
    for t in answer["tasks"]:
        table.add_row(t["taskName"], t["taskStatus"], ", ".join(t["sources"]))
    return table


def render_table(command: str, answer: dict[str, Any]) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, color_system=None)
    if command == "query-status" and "tasks" in answer:
        console.print(_task_rows(answer))
    elif command == "query-status" and "sources" in answer:
        console.print(_subtask_rows(answer))
    else:
        console.print(json.dumps(answer, indent=2, ensure_ascii=False))
    if not answer.get("result"):
        console.print(f"error: {answer.get('msg', '')}")
    return out.getvalue().rstrip("\n")
