"""dmctl refuses before asking any master what pydm would not do as asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dm.ctl.main import cli


@pytest.mark.parametrize("args", [
    ["binlog-schema", "update", "t", "d", "tb", "{file}", "-s", "s1", "--sync", "false"],
    ["operate-schema", "set", "t", "{file}", "-s", "s1", "-d", "d", "-t", "tb",
     "--sync", "false"],
])
def test_sync_false_is_refused(tmp_path: Path, args: list[str]) -> None:
    schema = tmp_path / "schema.sql"
    schema.write_text("CREATE TABLE tb (a INT)")
    result = CliRunner().invoke(cli, ["--master-addr", "127.0.0.1:1",
                                      *[a.format(file=schema) for a in args]])
    answer = json.loads(result.output)
    assert result.exit_code == 1 and answer["result"] is False
    assert "code=48010" in answer["msg"] and "--sync false" in answer["msg"]
