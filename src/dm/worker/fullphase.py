"""Dump and load of one subtask, overlapped: each chunk is loaded as soon as it is dumped."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dm import errors, metrics
from dm.binlog.location import parse_dump_metadata
from dm.db import Endpoint, connect
from dm.dump.dumper import Dumper, DumpSettings
from dm.dump.metadata import METADATA_FILE
from dm.dump.plan import DumpPlan
from dm.load.checkpoint import FINISHED, LoaderCheckpoint
from dm.load.loader import Loader, LoadSettings, Router

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FullPhaseConfig:
    task: str
    source_id: str
    source: Endpoint
    target: Endpoint
    meta_schema: str
    directory: Path
    dump: DumpSettings
    load: LoadSettings
    keep_metadata: bool  # task-mode all: sync needs the dump's binlog location


class FullPhase:
    def __init__(self, cfg: FullPhaseConfig, allows: Callable[[str, str], bool],
                 route: Router) -> None:
        self.cfg = cfg
        self.allows = allows
        self.route = route
        self.directory = cfg.directory
        self.checkpoint = LoaderCheckpoint(cfg.meta_schema, cfg.task, cfg.source_id)
        self._dumper: Dumper | None = None
        self._loader: Loader | None = None
        self._finished = False

    def status(self) -> dict[str, Any]:
        out = self._status()
        progress = float(str(out.get("load", {}).get("progress", "0 %")).rstrip(" %") or 0)
        metrics.LOADER_PROGRESS.labels(self.cfg.task, self.cfg.source_id).set(progress / 100)
        metrics.LOADER_BYTES.labels(self.cfg.task, self.cfg.source_id).set(
            out.get("load", {}).get("finishedBytes", 0))
        return out

    def _status(self) -> dict[str, Any]:
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
            total = self._dumper.total_chunks if self._dumper else 0
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
                "metaBinlogGTID": "" if loc.gtid_set is None else str(loc.gtid_set)}

    def run(self, stop: threading.Event, set_unit: Callable[[str], None]) -> None:
        conn = connect(self.cfg.target, what="downstream")
        try:
            if not self.checkpoint.create(conn):
                shutil.rmtree(self.directory, ignore_errors=True)  # fresh task: no stale chunks
            loaded = self.checkpoint.loaded(conn)
        finally:
            conn.close()
        if FINISHED in loaded:
            self._finished = True
            set_unit("Load")
            return
        if loaded and DumpPlan.load(self.directory) is None:
            # chunk names are only meaningful under the plan that cut them
            raise errors.LOAD_WORKER_MISMATCH(task=self.cfg.task, source=self.cfg.source_id,
                                              path=str(self.directory))
        loader = Loader(self.cfg.target, self.cfg.load, self.directory, self.checkpoint,
                        self.route, stop, loaded=frozenset(loaded))
        dumper = Dumper(self.cfg.source, self.cfg.dump, self.directory, self.allows,
                        loaded.__contains__, loader.expect, loader.submit, stop)
        self._loader, self._dumper = loader, dumper
        set_unit("Dump")
        loader.start()
        try:
            dumper.run()
        finally:
            set_unit("Load")
            loader.finish()
        if stop.is_set():
            return
        conn = connect(self.cfg.target, what="downstream")
        try:
            self.checkpoint.mark_finished(conn, loader.finished_bytes)
        finally:
            conn.close()
        self._finished = True
        self._clean()

    def _clean(self) -> None:
        if not self.cfg.load.clean_dump_file:
            return
        if self.cfg.keep_metadata:
            for path in self.directory.glob("*.tsv"):
                path.unlink()
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
