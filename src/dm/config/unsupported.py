"""Keys of DM's configs that pydm parses but does not act on yet: refused, never ignored.

A migration tool that accepts a setting and then quietly does something else loses data,
so each key here is a coded error (20090) naming the file, line and key. Building a
feature means deleting its entries here in the same change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dm import errors
from dm.config.extraargs import parse_extra_args
from dm.config.yamlfile import Findings, KeyPath

if TYPE_CHECKING:  # source.py and task.py call in here
    from dm.config.source import SourceConfig
    from dm.config.task import MydumperConfig, TaskConfig



@dataclass(frozen=True)
class Refusal:
    path: KeyPath
    feature: str
    default: str


def refuse_task(cfg: TaskConfig, findings: Findings) -> None:
    """Record a 20090 finding for every key of `cfg` that pydm does not act on yet."""
    _record(_task_refusals(cfg), findings)


def refuse_source(cfg: SourceConfig, findings: Findings) -> None:
    _record(_source_refusals(cfg), findings)


def _record(refusals: Iterator[Refusal], findings: Findings) -> None:
    for r in refusals:
        findings.error(errors.CONFIG_NOT_SUPPORTED, r.path, feature=r.feature,
                       default=r.default)


def _task_refusals(cfg: TaskConfig) -> Iterator[Refusal]:
    if cfg.collation_compatible == "strict":
        yield Refusal(("collation_compatible",), "collation_compatible: strict", "loose")
    for name, dumper in cfg.mydumpers.items():
        yield from _dump_refusals(dumper, ("mydumpers", name))
    for index, inst in enumerate(cfg.mysql_instances):
        path = ("mysql-instances", index)
        if inst.mydumper is not None:
            yield from _dump_refusals(inst.mydumper, (*path, "mydumper"))


def _dump_refusals(dumper: MydumperConfig, path: KeyPath) -> Iterator[Refusal]:
    for arg in parse_extra_args(dumper.extra_args).unsupported:
        yield Refusal((*path, "extra-args"), f"the dump option {arg!r}",
                      "--consistency auto|flush|lock|none, --no-locks, -t, -r, --where, -B, -T, "
                      "-F, -s")


def _source_refusals(cfg: SourceConfig) -> Iterator[Refusal]:
    defaults = type(cfg).model_fields
    if cfg.auto_fix_gtid != defaults["auto_fix_gtid"].default:
        yield Refusal(("auto-fix-gtid",), "fixing GTIDs", "false")
