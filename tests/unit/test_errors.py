"""The error catalogue: DM's string form, ProcessError shape, the generated docs."""

import re
from pathlib import Path

from dm import errors


def test_dm_string_form_names_code_class_scope_level() -> None:
    err = errors.DB_UNREACHABLE("refused", what="upstream", target="h:1", file="s.yaml")
    assert str(err).startswith("[code=10005:class=database:scope=not-set:level=high], "
                               "Message: cannot connect to upstream database at h:1")
    assert "RawCause: refused" in str(err) and "Workaround: " in str(err)


def test_process_error_round_trip() -> None:
    err = errors.MASTER_TASK_NOT_FOUND(task="t")
    back = errors.DMError.from_process_error(err.to_process_error())
    assert (back.code, back.message) == (38006, "task t does not exist")


def test_stray_exceptions_get_a_code() -> None:
    assert errors.wrap(KeyError("x")).code == 50000


def test_docs_errors_md_is_generated_from_the_catalogue() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
    assert doc.read_text() == errors.render_markdown(), \
        "regenerate with: .venv/bin/python -m dm.errors > docs/errors.md"


def test_every_way_out_names_only_commands_dmctl_has() -> None:
    """A workaround that sends users to a command pydm lacks is a dead end."""
    from dm.ctl.main import cli

    known = set(cli.commands)  # DM's names, those pydm lacks answer "not supported yet"
    real = {name for name, command in cli.commands.items() if not command.hidden}
    assert real >= {"start-task", "stop-task", "pause-task", "resume-task", "query-status"}
    assert known - real >= {"update-task", "validation"}
    for spec in errors.CATALOGUE.values():
        text = f"{spec.message} {spec.workaround}"
        named = {m.group(1) for m in re.finditer(r"(?:dmctl\s+|`)([a-z][a-z-]+)", text)}
        named |= {w for w in re.findall(r"\b[a-z]+(?:-[a-z]+)+\b", text) if w in known}
        assert not {w for w in named if w in known} - real, (spec.code, text)
