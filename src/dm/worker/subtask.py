"""One subtask (task × source) on a worker: its units run in order in one thread.

Pause and stop set an event the units check between chunks; resume starts the
units again, and each one continues from its own checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dm import errors, metrics
from dm.sync.syncer import SyncUnit
from dm.worker.autoresume import AutoResume, Backoff
from dm.worker.fullphase import FullPhase

log = logging.getLogger(__name__)

NEW, RUNNING, PAUSED, STOPPED, FINISHED = "New", "Running", "Paused", "Stopped", "Finished"


class SubTask:
    """The units of one subtask: the full phase (dump+load) and/or sync, in that order."""

    def __init__(self, name: str, source_id: str, full: FullPhase | None,
                 sync: SyncUnit | None, auto_resume: AutoResume | None = None) -> None:
        self.full = full
        self.sync = sync
        self.name = name
        self.source_id = source_id
        self.stage = NEW
        self.unit = "Dump" if full is not None else "Sync"
        self.errors: list[errors.DMError] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.resume_at: float | None = None  # auto-resume of a retryable error (DM §10.4)
        self._backoff = Backoff(auto_resume or AutoResume())
        self._started_at = 0.0
        self.files_released: Callable[[], None] = lambda: None  # the worker tells etcd

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self.errors = []
            self.resume_at = None
            self._started_at = time.monotonic()
            self.stage = RUNNING
            metrics.count_exits([*(("Dump", "Load") if self.full is not None else ()),
                                 *(("Sync",) if self.sync is not None else ())],
                                self.name, self.source_id)
            self._thread = threading.Thread(target=self._run, name=f"subtask-{self.name}",
                                            daemon=True)
            self._thread.start()

    def pause(self) -> None:
        self._halt(PAUSED)

    def stop(self) -> None:
        self._halt(STOPPED)
        metrics.forget_task(self.name, self.source_id)
        if self.sync is not None:
            self.sync.recorder.forget()

    def _halt(self, stage: str) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            if self.stage != FINISHED:
                self.stage = stage

    def _run(self) -> None:
        try:
            if self.full is not None:
                self.full.run(self._stop, self._set_unit)
                if self._stop.is_set():
                    return
            if self.sync is not None and self.sync.needed():
                self.sync.on_started = self._sync_started
                self.sync.run(self._stop)
                if self._stop.is_set() or not self.sync.cfg.catch_up:
                    return  # sync only ends when paused or stopped; a catch-up finishes
                if self.full is not None:
                    self.full.caught_up()
            with self._lock:
                self.stage = FINISHED
        except errors.DMError as exc:
            if self._stop.is_set():  # stopped or paused while it failed (its last checkpoint
                # not saved): it starts again from the one before, in safe mode
                log.warning("subtask %s/%s stopped on an error: %s", self.name,
                            self.source_id, exc)
                return
            self._fail(exc)
        except Exception as exc:
            log.exception("subtask %s/%s crashed", self.name, self.source_id)
            self._fail(errors.wrap(exc))

    def _fail(self, exc: errors.DMError) -> None:
        log.error("subtask %s/%s paused: %s", self.name, self.source_id, exc)
        metrics.exited(self.unit, self.name, self.source_id, exc.spec.retryable)
        with self._lock:
            self.errors = [exc]
            self.stage = PAUSED
            if not exc.spec.retryable:
                return
            wait = self._backoff.next_wait(time.monotonic() - self._started_at)
            if wait is None:
                return  # checker.check-enable is false
            self.resume_at = time.monotonic() + wait
            log.info("subtask %s/%s resumes by itself in %.0f s", self.name, self.source_id,
                     self.resume_at - time.monotonic())

    def due_for_auto_resume(self) -> bool:
        at = self.resume_at
        return self.stage == PAUSED and at is not None and time.monotonic() >= at

    def holds_dump_files(self) -> bool:
        """In dump or load: the files this worker dumped (or was given) are still needed,
        so the source must come back to this worker (DM's load task)."""
        return self.full is not None and self.unit in ("Dump", "Load") and \
            self.stage != FINISHED

    def _set_unit(self, unit: str) -> None:
        self.unit = unit

    def _sync_started(self) -> None:
        """The sync unit saved its start point downstream: the dump files are no longer
        needed, which is said (`files_released`) before the unit shows Sync, so a worker
        that dies in sync never leaves its source waiting for it (DM's load task)."""
        if self.unit in ("Dump", "Load"):
            self.files_released()
        self.unit = "Sync"

    # --- status ------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """DM's SubTaskStatus shape."""
        result: dict[str, Any] = {"isCanceled": False, "errors": [e.to_process_error()
                                                                   for e in self.errors]}
        out: dict[str, Any] = {"name": self.name, "stage": self.stage, "unit": self.unit,
                               "result": result if self.errors else None,
                               "unresolvedDDLLockID": ""}
        if self.full is not None:
            out.update(self.full.status())
        if self.sync is not None and self.unit == "Sync":
            out.update(self.sync.status())
            out["unresolvedDDLLockID"] = self.sync.waiting_lock()
        return out


def dump_dir(base: Path, loader_dir: str) -> Path:
    """`loader.dir` (already suffixed `.<task>`), relative to the worker's working directory."""
    path = Path(loader_dir)
    return path if path.is_absolute() else base / path
