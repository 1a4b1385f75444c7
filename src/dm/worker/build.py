"""Turn a subtask config and its source config into a runnable SubTask."""

from __future__ import annotations

from pathlib import Path

from dm.config.source import SourceConfig
from dm.config.stored import endpoint
from dm.config.subtask import SubTaskConfig
from dm.dump.dumper import DumpSettings
from dm.load.loader import LoadSettings
from dm.worker.fullphase import FullPhase, FullPhaseConfig
from dm.worker.subtask import SubTask, dump_dir


def _consistency(extra_args: str) -> str:
    """dumpling's `--consistency X` / `--no-locks` among mydumper extra-args."""
    args = extra_args.split()
    if "--no-locks" in args:
        return "none"
    for i, arg in enumerate(args):
        if arg.startswith("--consistency="):
            return arg.split("=", 1)[1]
        if arg == "--consistency" and i + 1 < len(args):
            return args[i + 1]
    return "auto"


def build_subtask(sub: SubTaskConfig, source: SourceConfig, base_dir: Path) -> SubTask:
    dump = DumpSettings(threads=sub.mydumper.threads, rows=sub.mydumper.rows or 200_000,
                        chunk_bytes=sub.mydumper.chunk_filesize_bytes(),
                        consistency=_consistency(sub.mydumper.extra_args))
    load = LoadSettings(pool_size=sub.loader.pool_size, clean_dump_file=sub.clean_dump_file)
    cfg = FullPhaseConfig(task=sub.name, source_id=sub.source_id, source=endpoint(source.from_),
                          target=endpoint(sub.to), meta_schema=sub.meta_schema,
                          directory=dump_dir(base_dir, sub.loader.dir),
                          dump=dump, load=load, keep_metadata=sub.mode == "all")
    phase = FullPhase(cfg, sub.ba_list().allows, sub.router().route)
    return SubTask(phase, sub.name, sub.source_id, sub.mode)
