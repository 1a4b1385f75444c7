"""YAML config files with line numbers, and findings that name file, line and key.

Scalars are kept as the text the user wrote (`off` stays "off" in a session map,
`0010` stays "0010" in a password); pydantic converts them where a field wants a
number or a boolean, the way Go's yaml.v2 decodes by target type. Only `null`
(or an empty value) is special: it means "use the default".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dm import errors

KeyPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def dotted(path: Sequence[str | int]) -> str:
    """`("mysql-instances", 0, "meta")` -> `mysql-instances[0].meta`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class YamlDoc:
    """The data of one YAML file and the line of every key and list item in it."""

    filename: str
    data: Any
    lines: Mapping[KeyPath, int]

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line of `path`, or of its nearest ancestor present in the file."""
        key = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.CONFIG_READ_FILE(exc, file=str(path)) from None


def load_yaml(text: str, filename: str) -> YamlDoc:
    """Parse one YAML document whose top level is a mapping."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if not _blank(n)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        detail = f"invalid YAML: {exc.problem or exc}"
        raise errors.CONFIG_YAML(file=filename, line=line, detail=detail) from None
    except yaml.YAMLError as exc:
        raise errors.CONFIG_YAML(file=filename, line=1, detail=f"invalid YAML: {exc}") from None
    if not nodes:
        raise errors.CONFIG_YAML(file=filename, line=1, detail="the file is empty")
    if len(nodes) > 1:
        raise errors.CONFIG_YAML(
            file=filename,
            line=nodes[1].start_mark.line + 1,
            detail="a second YAML document starts here; a config file holds exactly one",
        )
    if not isinstance(nodes[0], yaml.MappingNode):
        raise errors.CONFIG_YAML(
            file=filename, line=nodes[0].start_mark.line + 1, detail="the top level must be keys"
        )
    lines: dict[KeyPath, int] = {}
    data = _Builder(filename, lines).build(nodes[0], ())
    return YamlDoc(filename, data, lines)


def _blank(node: yaml.Node | None) -> bool:
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG)


@dataclass
class _Builder:
    filename: str
    lines: dict[KeyPath, int]

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines[(*path, index)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, index)))
            return items
        return None if node.tag == _NULL_TAG else node.value

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag in (_NULL_TAG, _MERGE_TAG):
                self._fail(line, path, "keys must be plain names (no lists, null or `<<` merges)")
            key = str(key_node.value)
            if key in out:
                first = self.lines[(*path, key)]
                self._fail(line, (*path, key), f"duplicate key (first set at line {first})")
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _fail(self, line: int, path: KeyPath, detail: str) -> None:
        where = f"{dotted(path)}: " if path else ""
        raise errors.CONFIG_YAML(file=self.filename, line=line, detail=where + detail)


@dataclass
class Findings:
    """Errors and warnings about one config file, each located at a key."""

    doc: YamlDoc
    _warnings: list[tuple[int, str]] = field(default_factory=list)
    _errors: list[tuple[errors.ErrorCode, dict[str, Any]]] = field(default_factory=list)

    def locate(self, path: Sequence[str | int]) -> dict[str, Any]:
        line, key = self.doc.line_of(path), dotted(path)
        file = self.doc.filename
        return {"file": file, "line": line, "key": key, "where": f"{file}:{line}: {key}"}

    def error(self, spec: errors.ErrorCode, path: Sequence[str | int], **fields: Any) -> None:
        self._errors.append((spec, {**self.locate(path), **fields}))

    def invalid(self, path: Sequence[str | int], text: str) -> None:
        """A generic (20003) finding: `key: text`."""
        self.error(errors.CONFIG_YAML, path, detail=f"{dotted(path)}: {text}")

    def warn(self, path: Sequence[str | int], text: str) -> None:
        place = self.locate(path)
        self._warnings.append((place["line"], f"{place['where']}: {text}"))

    @property
    def warnings(self) -> list[str]:
        """Every warning as `file:line: key: text`, in file order."""
        return [text for _, text in sorted(self._warnings, key=lambda w: w[0])]

    def raise_errors(self) -> None:
        """Raise one DMError (the first finding's code) listing every finding, one a line."""
        if self._errors:
            spec = self._errors[0][0]
            text = "\n".join(s.message.format(**f) for s, f in self._errors)
            raise errors.DMError(spec, text)

    def validate(
        self,
        model: type[M],
        missing: Mapping[KeyPath, errors.ErrorCode] | None = None,
    ) -> M:
        """Validate the document into `model`; every failure becomes a located finding."""
        try:
            return model.model_validate(self.doc.data)
        except ValidationError as exc:
            known = _known_keys(model)
            # structural problems first, as DM's YAML decoder reports them before anything else
            for detail in sorted(
                exc.errors(include_url=False), key=lambda e: e["type"] == "missing"
            ):
                self._add_validation_error(detail, known, missing or {})
            self.raise_errors()
            raise  # unreachable: raise_errors raised

    def _add_validation_error(
        self, err: ErrorDetails, known: set[str], missing: Mapping[KeyPath, errors.ErrorCode]
    ) -> None:
        path: KeyPath = tuple(err["loc"])
        value = err.get("input")
        context = err.get("ctx") or {}
        detail = _describe(err, path, known)
        if err["type"] == "dm":
            spec = errors.CATALOGUE[context["dm_code"]]
        elif err["type"] == "missing" and path in missing:
            spec = missing[path]
        else:
            spec = errors.CONFIG_YAML
            detail = f"{dotted(path)}: {detail}" if path else detail
        extra = {k: v for k, v in context.items() if k not in ("detail", "dm_code")}
        self.error(spec, path, value=value, detail=detail, **extra)


def _describe(err: ErrorDetails, path: KeyPath, known: set[str]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "dm":
        text = str(err["msg"])
    elif kind == "extra_forbidden":
        text = "unknown key"
        close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.75)
        if close:
            text += f" (did you mean {close[0]!r}?)"
    elif kind == "missing":
        text = "required key is missing"
    elif kind == "value_error":
        text = str(err["msg"]).removeprefix("Value error, ")
    elif isinstance(value, str | int | float | bool):
        text = f"{err['msg']}, got {value!r}"
    else:
        text = str(err["msg"])
    return text


def _known_keys(model: type[BaseModel]) -> set[str]:
    """Every YAML key of `model` and the models nested in it (for did-you-mean hints)."""
    keys: set[str] = set()
    seen: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> None:
        for arg in get_args(annotation):
            visit(arg)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                keys.add(info.alias or name)
                visit(info.annotation)

    visit(model)
    return keys
