"""What dm-master and dm-worker share as programs: config, logging, coded exit."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

import click

from dm import __version__, errors
from dm.gctune import tune_gc
from dm.logsetup import setup_logging


class ProgramConfig(Protocol):
    name: str
    log_level: str
    log_file: str
    log_format: str


C = TypeVar("C", bound=ProgramConfig)


def run_program(program: str, show_version: bool, load: Callable[[], C],
                serve: Callable[[C], Coroutine[Any, Any, None]],
                start_error: errors.ErrorCode) -> None:
    """Load the config, set up logging, serve; every failure exits 1 with a coded error."""
    if show_version:
        click.echo(f"pydm {program} {__version__}")
        return
    try:
        cfg = load()
    except errors.DMError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    setup_logging(cfg.log_level, cfg.log_file, cfg.log_format)
    tune_gc()
    try:
        asyncio.run(serve(cfg))
    except errors.DMError as exc:
        logging.getLogger(f"dm.{program}").error("%s", exc)
        click.echo(str(exc), err=True)
        sys.exit(1)
    except OSError as exc:  # e.g. the address is already in use
        click.echo(str(start_error(exc, name=cfg.name, detail=str(exc))), err=True)
        sys.exit(1)


def comma_list(_ctx: object, _param: object, value: str | None) -> list[str] | None:
    """A click callback: a comma-separated flag as the list its TOML key holds."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None
