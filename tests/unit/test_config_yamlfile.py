"""dm.config.yamlfile: YAML with line numbers and located findings."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from dm import errors
from dm.config.base import ConfigModel
from dm.config.yamlfile import Findings, dotted, load_yaml, read_text


def test_scalars_keep_the_text_written() -> None:
    doc = load_yaml("a: off\nb: 0010\nc: 1e3\nd: 'x'\ne:\nf: ~\ng: [1, yes]\n", "f.yaml")
    assert doc.data == {
        "a": "off",
        "b": "0010",
        "c": "1e3",
        "d": "x",
        "e": None,
        "f": None,
        "g": ["1", "yes"],
    }


def test_lines_of_keys_and_items() -> None:
    doc = load_yaml("---\nname: t\nlist:\n  - a: 1\n  - b: 2\n", "f.yaml")
    assert doc.line_of(("name",)) == 2
    assert doc.line_of(("list", 1)) == 5
    assert doc.line_of(("list", 1, "b")) == 5
    assert doc.line_of(("list", 0, "missing")) == 4  # nearest ancestor
    assert doc.line_of(()) == 1


@pytest.mark.parametrize(
    ("text", "line", "detail"),
    [
        ("a: [1, 2\n", 2, "invalid YAML"),
        ("a: 1\n  b: 2\n", 2, "invalid YAML"),
        ("", 1, "the file is empty"),
        ("# only a comment\n", 1, "the file is empty"),
        ("- a\n- b\n", 1, "the top level must be keys"),
        ("a: 1\n---\nb: 2\n", 3, "a second YAML document"),
        ("a: 1\nb: 2\na: 3\n", 3, "a: duplicate key (first set at line 1)"),
        ("x:\n  y: 1\n  y: 2\n", 3, "x.y: duplicate key"),
        ("base: &b {a: 1}\nc:\n  <<: *b\n", 3, "`<<` merges"),
        ("? [a]\n: 1\n", 1, "keys must be plain names"),
    ],
)
def test_refused_yaml(text: str, line: int, detail: str) -> None:
    with pytest.raises(errors.DMError) as info:
        load_yaml(text, "bad.yaml")
    assert info.value.code == errors.CONFIG_YAML.code
    assert info.value.message.startswith(f"bad.yaml:{line}: ")
    assert detail in info.value.message


def test_trailing_empty_document_is_fine() -> None:
    assert load_yaml("---\na: 1\n---\n", "f.yaml").data == {"a": "1"}


def test_read_text_missing_file(tmp_path: Path) -> None:
    with pytest.raises(errors.DMError) as info:
        read_text(tmp_path / "nope.yaml")
    assert info.value.code == errors.CONFIG_READ_FILE.code
    assert "nope.yaml" in info.value.message


def test_dotted() -> None:
    path = ("mysql-instances", 0, "meta", "binlog-pos")
    assert dotted(path) == "mysql-instances[0].meta.binlog-pos"
    assert dotted(()) == ""


class Inner(ConfigModel):
    port: int = 3306
    host: str


class Outer(ConfigModel):
    name: str
    inner: Inner
    items: list[int] = Field(default_factory=list)


def _validate(text: str) -> Outer:
    return Findings(load_yaml(text, "m.yaml")).validate(Outer)


def test_validation_ok_and_null_means_default() -> None:
    got = _validate("name: n\ninner:\n  host: h\n  port:\nitems: [1, '2']\n")
    assert got == Outer(name="n", inner=Inner(host="h"), items=[1, 2])


def test_every_validation_error_is_reported_once_a_line() -> None:
    text = "name: n\ninner:\n  hots: h\n  port: x\nitems: [1, b]\nextra: 1\n"
    with pytest.raises(errors.DMError) as info:
        _validate(text)
    assert info.value.code == errors.CONFIG_YAML.code
    lines = info.value.message.splitlines()
    assert "m.yaml:3: inner.hots: unknown key (did you mean 'host'?)" in lines
    assert "m.yaml:6: extra: unknown key" in lines
    assert any(s.startswith("m.yaml:4: inner.port: Input should be a valid integer") for s in lines)
    assert any(s.startswith("m.yaml:5: items[1]: Input should be a valid integer") for s in lines)
    assert "m.yaml:2: inner.host: required key is missing" in lines
    assert lines[-1] == "m.yaml:2: inner.host: required key is missing"  # missing keys last
    assert "Traceback" not in str(info.value)


def test_missing_key_gets_its_own_code() -> None:
    findings = Findings(load_yaml("inner:\n  host: h\n", "m.yaml"))
    with pytest.raises(errors.DMError) as info:
        findings.validate(Outer, missing={("name",): errors.CONFIG_NEED_TASK_NAME})
    assert info.value.code == errors.CONFIG_NEED_TASK_NAME.code
    assert info.value.message == "m.yaml:1: name: a task name is required"


def test_findings_warnings_are_in_file_order() -> None:
    findings = Findings(load_yaml("a: 1\nb: 2\n", "w.yaml"))
    findings.warn(("b",), "second")
    findings.warn(("a",), "first")
    assert findings.warnings == ["w.yaml:1: a: first", "w.yaml:2: b: second"]


class Loose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int


def test_works_for_any_pydantic_model() -> None:
    with pytest.raises(errors.DMError) as info:
        Findings(load_yaml("x: 1\ny: 2\n", "l.yaml")).validate(Loose)
    assert info.value.message == "l.yaml:2: y: unknown key"
