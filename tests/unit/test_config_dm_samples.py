"""Every dm-task*.yaml and source*.yaml of DM's own integration tests parses, or is
refused only for keys pydm does not act on yet (20090, naming each key and line).

The files are read in place from ../shared/dm-tests (not copied into the project).
Four task files hold placeholders that DM's test scripts `sed` before use; they are
rendered the same way here. dmctl_basic/conf/dm-task2.yaml is DM's deliberately
invalid task (only an unknown `description` key) and must be refused. No file is
skipped.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.shared import DM_TESTS

from dm import errors
from dm.config import SubTaskConfig, load_source_config, parse_source_config, parse_task_config

ROOT = DM_TESTS
TASKS = sorted(ROOT.glob("*/conf/dm-task*.yaml"))
SOURCES = sorted(ROOT.glob("*/conf/source*.yaml"))
INVALID = {ROOT / "dmctl_basic/conf/dm-task2.yaml"}

assert TASKS and SOURCES, f"DM's sample configs are missing: {ROOT}"

_PLACEHOLDERS = [
    (re.compile(r"task-mode-placeholder"), "incremental"),
    (re.compile(r"binlog-name-placeholder-\d+"), "mysql-bin.000001"),
    (re.compile(r"binlog-pos-placeholder-\d+"), "4"),
    (re.compile(r"binlog-gtid-placeholder(-\d+)?"), "3ccc475b-2343-11e7-be21-6c0b84d59f30:1-14"),
]


def render(text: str) -> str:
    """Fill the placeholders like DM's run.sh scripts do."""
    for pattern, value in _PLACEHOLDERS:
        text = pattern.sub(value, text)
    return text


def test_the_data_is_there() -> None:
    assert len(TASKS) >= 60 and len(SOURCES) >= 100


def _refused_for_unsupported_keys(path: Path, parse: Callable[[], object]) -> bool:
    """Parse; a refusal must be 20090 alone, one finding a line, each at `path`."""
    try:
        parse()
    except errors.DMError as exc:
        assert exc.code == errors.CONFIG_NOT_SUPPORTED.code, exc
        for line in exc.message.splitlines():
            assert re.match(rf"{re.escape(str(path))}:\d+: [\w.\[\]-]+: .+ is not supported "
                            r"by pydm yet; remove the key or set it to ", line), line
        return True
    return False


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source(path: Path) -> None:
    text = path.read_text()
    _refused_for_unsupported_keys(path, lambda: load_source_config(path))
    cfg = parse_source_config(text, str(path), accept_unsupported=True)
    assert cfg.source_id and cfg.from_.host


@pytest.mark.parametrize(
    "path", [p for p in TASKS if p not in INVALID], ids=lambda p: str(p.relative_to(ROOT))
)
def test_task(path: Path) -> None:
    text = render(path.read_text())
    _refused_for_unsupported_keys(path, lambda: parse_task_config(text, str(path)))
    cfg = parse_task_config(text, str(path), accept_unsupported=True)
    subtasks = cfg.subtask_configs()
    assert [s.source_id for s in subtasks] == [i.source_id for i in cfg.mysql_instances]
    for sub in subtasks:
        assert SubTaskConfig.model_validate_json(sub.model_dump_json()) == sub
        sub.ba_list()
        sub.router()


def test_dms_invalid_task_is_refused() -> None:
    (path,) = INVALID
    with pytest.raises(errors.DMError) as info:
        parse_task_config(path.read_text(), str(path))
    assert info.value.code == errors.CONFIG_YAML.code
    assert info.value.message.startswith(f"{path}:2: description: unknown key")


def test_relay_and_pessimistic_shard_samples_are_taken() -> None:
    relay, shard = ROOT / "relay_interrupt/conf/source1.yaml", ROOT / "sharding/conf/dm-task.yaml"
    assert load_source_config(relay).enable_relay  # the relay log is built (docs/relay.md)
    # DM's deprecated is-sharding: true is shard-mode pessimistic (docs/sharding.md)
    assert parse_task_config(render(shard.read_text()), str(shard)).shard_mode == "pessimistic"
