"""The full phase of one subtask: dump and load overlapped (each chunk is loaded as soon as
it is dumped), or, in DM's split task modes, a dump alone into `loader.dir` (task-mode dump)
or a load alone of the dump found there (load, load&sync)."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dm import errors
from dm.binlog.location import gtid_text, parse_dump_metadata
from dm.core.schemas import Selection
from dm.db import Endpoint, connect
from dm.dump.dumpdir import DumpDirectory, claim_directory
from dm.dump.dumper import Dumper, DumpSettings
from dm.dump.metadata import METADATA_FILE
from dm.dump.plan import DumpPlan
from dm.dump.snapshots import resumed
from dm.load.checkpoint import FINISHED, LoaderCheckpoint
from dm.load.loader import Loader, LoadSettings
from dm.rules.column_mapping import ColumnMapping
from dm.rules.router import TableRouter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FullPhaseConfig:
    task: str
    source_id: str
    source: Endpoint
    target: Endpoint
    meta_schema: str
    directory: Path
    dump: DumpSettings | None  # None: task-mode load or load&sync (a dump is there)
    load: LoadSettings | None  # None: task-mode dump (nothing downstream)
    keep_metadata: bool  # all, load&sync: sync needs the dump's binlog location


class FullPhase:
    def __init__(self, cfg: FullPhaseConfig, selection: Selection,
                 router: TableRouter, mapping: ColumnMapping | None = None) -> None:
        self.cfg = cfg
        self.selection = selection
        self.router = router
        self.mapping = mapping
        self.directory = cfg.directory
        self.checkpoint = LoaderCheckpoint(cfg.meta_schema, cfg.task, cfg.source_id)
        self._dumper: Dumper | None = None
        self._loader: Loader | None = None
        self._finished = False
        self._files_total = 0  # load alone: data files of the dump found

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._finished:
            if self._dumper is not None:
                out["dump"] = self._dumper.status()
            out["load"] = {**(self._loader.status() if self._loader else {}),
                           "progress": "100.00 %", **self._meta_status()}
            return out
        if self._dumper is not None:
            out["dump"] = self._dumper.status()
        if self._loader is not None:
            total = self._dumper.total_chunks if self._dumper else self._files_total
            done = self._loader.loaded_chunks
            out["load"] = {**self._loader.status(),
                           "totalBytes": self._dumper.finished_bytes if self._dumper else 0,
                           "progress": f"{100.0 * done / max(total, 1):.2f} %",
                           **self._meta_status()}
        return out

    def _meta_status(self) -> dict[str, str]:
        path = self.directory / METADATA_FILE
        if not path.exists():  # written when the dump is complete
            return {"metaBinlog": "", "metaBinlogGTID": ""}
        loc = parse_dump_metadata(path.read_text(), str(path)).location
        return {"metaBinlog": f"({loc.file}, {loc.pos})",
                "metaBinlogGTID": gtid_text(loc)}

    def run(self, stop: threading.Event, set_unit: Callable[[str], None]) -> None:
        if self.cfg.load is None:
            self._dump_alone(stop, set_unit)
            return
        conn = connect(self.cfg.target, what="downstream")
        try:
            fresh = not self.checkpoint.create(conn)
            progress = self.checkpoint.progress(conn)
            if fresh:  # what an earlier run left goes before the mark (a kill in between
                # clears it again)
                if self.cfg.dump is not None:
                    shutil.rmtree(self.directory, ignore_errors=True)  # no stale chunks
                self.checkpoint.mark_begun(conn)
        finally:
            conn.close()
        loaded = {name for name, (offset, end) in progress.items() if offset == end}
        if FINISHED in loaded:
            self._finished = True
            set_unit("Load")
            return
        loader = Loader(self.cfg.target, self.cfg.load, self.directory, self.checkpoint,
                        self.router, stop, loaded=frozenset(loaded),
                        offsets={n: o for n, (o, end) in progress.items() if o < end},
                        mapping=self.mapping)
        self._loader = loader
        if self.cfg.dump is None:
            self._load_alone(loader, loaded, set_unit)
        else:
            self._dump_and_load(self.cfg.dump, loader, loaded, stop, set_unit)
        if stop.is_set():
            return
        conn = connect(self.cfg.target, what="downstream")
        try:
            self.checkpoint.mark_finished(conn, loader.finished_bytes)
        finally:
            conn.close()
        self._finished = True
        self._clean()

    def _dump_and_load(self, settings: DumpSettings, loader: Loader, loaded: set[str],
                       stop: threading.Event, set_unit: Callable[[str], None]) -> None:
        if loaded and DumpPlan.load(self.directory) is None:
            # chunk names are only meaningful under the plan that cut them
            raise errors.LOAD_WORKER_MISMATCH(task=self.cfg.task, source=self.cfg.source_id,
                                              path=str(self.directory))
        self._dumper = Dumper(self.cfg.source, settings, self.directory, self.selection,
                              loaded.__contains__, loader.expect, loader.submit, stop)
        set_unit("Dump")
        loader.start()
        try:
            self._dumper.run()
        finally:
            set_unit("Load")
            loader.finish()

    def _load_alone(self, loader: Loader, loaded: set[str],
                    set_unit: Callable[[str], None]) -> None:
        """task-mode load and load&sync: the dump in the directory, whoever wrote it."""
        set_unit("Load")
        dump = DumpDirectory.read(self.directory, self.selection.tables)
        todo = [(t, f) for t in dump.tables for f in t.files if f.path.name not in loaded]
        for _, data in todo:
            if not data.path.exists():  # neither loaded nor there: never load a hole
                raise errors.LOAD_DUMP_DIR(path=str(data.path))
        self._files_total = sum(len(t.files) for t in dump.tables)
        loader.expect(dump.tables, list(dump.databases))
        loader.start()
        try:
            for table, data in todo:
                loader.submit(table, data)
        finally:
            loader.finish()

    def _dump_alone(self, stop: threading.Event, set_unit: Callable[[str], None]) -> None:
        """task-mode dump: files and DM's metadata in `loader.dir`, nothing downstream. A
        dump of this task found there is resumed (or is already Finished); anything else
        in the directory is emptied first, as DM does, if it is only dump files."""
        assert self.cfg.dump is not None
        set_unit("Dump")
        claim_directory(self.directory, self.cfg.task, self.cfg.source_id)
        self._dumper = Dumper(self.cfg.source, self.cfg.dump, self.directory, self.selection,
                              lambda _: False, lambda *_: None, lambda *_: None, stop)
        self._dumper.run()
        if not stop.is_set():
            self._finished = True

    def caught_up(self) -> None:
        """Task-mode full, after the catch-up that reconciled a resumed dump: the dump
        directory it kept for it goes too (with clean-dump-file, as DM's)."""
        if self.cfg.load is not None and self.cfg.load.clean_dump_file and \
                self.cfg.dump is not None and not self.cfg.keep_metadata:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _clean(self) -> None:
        if self.cfg.load is None or not self.cfg.load.clean_dump_file:
            return
        if self.cfg.keep_metadata or self.cfg.dump is None or resumed(self.directory):
            # a resumed dump's snapshots are what task-mode full's catch-up replays between
            for path in self.directory.glob("*.tsv"):
                path.unlink()
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
