"""The relay unit of a worker: pulls its source's binlog as a replica and keeps it in
the relay directory (layout.py) for the source's sync units to read (stream.py).

It starts where its relay.meta says; on a first start, from the earliest location a
subtask of the source still needs, else `relay-binlog-gtid` / `relay-binlog-name`,
else where the upstream's binlog is now. A connection lost is retried with a growing
wait; an error the relay cannot get past leaves it paused with the error, as DM's.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dm import errors, metrics
from dm.binlog.location import (
    FILE_HEADER_END,
    Flavor,
    Location,
    file_key,
    gtid_text,
    parse_gtid_set,
)
from dm.binlog.replica import ReplicaConfig, ReplicaConnection
from dm.binlog.status import binlog_status
from dm.config.source import SourceConfig
from dm.config.stored import endpoint
from dm.db import connect, is_mariadb, query_one, ssl_params
from dm.relay.layout import RelayDir, SubDir
from dm.relay.writer import RelayWriter

log = logging.getLogger(__name__)

RUNNING, PAUSED, STOPPED = "Running", "Paused", "Stopped"
_META_EVERY = 0.5  # seconds between relay.meta writes while events flow
_MASTER_EVERY = 5.0  # seconds between looks at the upstream's binlog position
_RETRY_MIN, _RETRY_MAX = 1.0, 30.0
_FATAL = {errors.RELAY_GAP.code, errors.RELAY_META.code, errors.RELAY_INDEX.code,
          errors.RELAY_UPSTREAM_BEHIND.code, errors.RELAY_SWITCH_NEEDS_GTID.code,
          errors.BINLOG_PURGED.code, errors.NO_BINLOG_LOCATION.code}


@dataclass(frozen=True)
class Upstream:
    """Who the upstream is: its relay sub-directories are named after `uuid`."""

    uuid: str
    flavor: Flavor
    now: Location | None  # where its binlog ends now


NeededFrom = Callable[[], Location | None]  # the earliest location a subtask still needs


class RelayUnit:
    def __init__(self, source: SourceConfig, directory: Path, needed_from: NeededFrom,
                 server_id: int) -> None:
        self.source = source
        self.server_id = server_id  # this relay's own, as a replica of the source
        self.relay = RelayDir(directory)
        self.needed_from = needed_from
        self.stage = STOPPED
        self.error: errors.DMError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: RelayWriter | None = None
        self._sub: SubDir | None = None
        self._master: Location | None = None
        self._lock = threading.Lock()  # purge vs. the writer switching files

    @property
    def directory(self) -> Path:
        return self.relay.path

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self.stage, self.error = RUNNING, None
        prepared = None
        try:  # here, not in the thread: once start() returns, the relay names its start
            prepared = self._prepare()  # and a sync unit starting then finds it held
        except Exception as exc:  # noqa: BLE001 - the thread tries again, and shows it
            log.warning("relay of %s cannot start yet: %s", self.source.source_id, exc)
        self._thread = threading.Thread(target=self._run, args=(prepared,), daemon=True,
                                        name=f"relay-{self.source.source_id}")
        self._thread.start()

    def pause(self) -> None:
        self._halt(PAUSED)

    def stop(self) -> None:
        self._halt(STOPPED)

    def _halt(self, stage: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.stage = stage

    def _run(self, prepared: tuple[SubDir, Location] | None) -> None:
        wait = _RETRY_MIN
        while not self._stop.is_set():
            try:
                self._relay(*(prepared or self._prepare()))
                return
            except errors.DMError as exc:
                self.error = exc
                _count(exc)
                if exc.code in _FATAL:
                    log.error("relay of %s paused: %s", self.source.source_id, exc)
                    self.stage = PAUSED
                    return
                log.warning("relay of %s: %s; retrying in %.0f s", self.source.source_id,
                            exc, wait)
            except Exception as exc:  # shown in relayStatus, then retried
                log.exception("relay of %s failed", self.source.source_id)
                self.error = errors.wrap(exc)
                _count(self.error, exc)
            prepared = None
            self._stop.wait(wait)
            wait = min(wait * 2, _RETRY_MAX)

    # --- relaying --------------------------------------------------------------------
    def _prepare(self) -> tuple[SubDir, Location]:
        """The sub-directory of the upstream as it is now, and where to relay it from."""
        upstream = self._upstream()
        self._master = upstream.now
        with self._lock:
            last = self.relay.current()
            if last is not None and last.uuid != upstream.uuid:  # another server now
                start = self._switch_point(last)
                self.relay.open_subdir(upstream.uuid).write_meta(start)
                log.info("relay of %s: the upstream is now %s (was %s): relaying it into "
                         "a new sub-directory from GTID %s", self.source.source_id,
                         upstream.uuid, last.uuid, start.gtid_set)
            sub = self.relay.open_subdir(upstream.uuid)
            meta = sub.read_meta(upstream.flavor)
            if meta is None:
                meta = self._first_start(upstream)
                sub.write_meta(meta)
            end = RelayWriter.resume_point(sub, meta)
            needed = self.needed_from() if self._comparable(end) else None
            if needed is not None and needed.file and end < needed:
                end = self._start_afresh(sub, end, needed)
            self._sub = sub
            return sub, end

    def _comparable(self, end: Location) -> bool:
        """Whether the relay's end and its tasks' positions name the same server's files:
        a file position (not a GTID-only start) in the only sub-directory (no upstream
        switch, after which a task may still stand in the old server's files)."""
        return bool(end.file) and len(self.relay.subdirs()) == 1

    def _start_afresh(self, sub: SubDir, meta: Location, needed: Location) -> Location:
        """DM's: a relay whose real end (its files cut back to the last whole transaction,
        not the meta written now and then) is before anything its tasks still need (it was
        off, or lost while the source moved on) holds nothing of use: its files go, and it
        starts where the tasks need it, which the upstream may still have when its old
        end is purged."""
        for name in sub.binlog_files():
            (sub.path / name).unlink()
        sub.write_meta(needed)
        log.info("relay of %s: its end %s is before %s, which its tasks need: relaying "
                 "afresh from there", self.source.source_id, meta.short(), needed.short())
        return needed

    def _switch_point(self, last: SubDir) -> Location:
        """Where another upstream server takes over from the relay's last sub-directory:
        after the GTIDs of its last whole transaction (its torn tail cut first). Without
        GTIDs the new server's positions say nothing (DM's 30034 likewise)."""
        meta = last.read_meta()
        end = RelayWriter.resume_point(last, meta) if meta is not None else None
        if end is None or end.gtid_set is None or end.gtid_set.is_empty():
            raise errors.RELAY_SWITCH_NEEDS_GTID(source=self.source.source_id, last=last.name)
        last.write_meta(end)
        return Location("", FILE_HEADER_END, end.gtid_set)

    def _relay(self, sub: SubDir, start: Location) -> None:
        src = endpoint(self.source.from_)
        replica = ReplicaConnection(ReplicaConfig(
            src.host, src.port, src.user, src.password, self.server_id,
            heartbeat_period=1.0, ssl=ssl_params(src), allowed_cn=src.allowed_cn),
            annotate_rows=True)  # the files hold every event the upstream has
        if start.file:
            replica.start_at(start)
        else:
            assert start.gtid_set is not None
            replica.start_at_gtid(start.gtid_set)
        with self._lock:
            writer = RelayWriter(sub, start, replica.checksum)
            self._sub, self._writer = sub, writer
        self.error = None  # relaying again: an error it retried past is over
        log.info("relay of %s into %s from %s", self.source.source_id, sub.path, start.short()
                 if start.file else start)
        saved, meta_at = start, time.monotonic()
        master_at = purged_at = meta_at
        try:
            with replica:
                for batch in replica.raw_batches():
                    with self._lock:
                        for event in batch:
                            writer.write(event)
                    if replica.ready():
                        continue  # more is here: write it before flushing
                    writer.flush()
                    now = time.monotonic()
                    if writer.committed != saved and now - meta_at >= _META_EVERY:
                        sub.write_meta(writer.committed)
                        saved, meta_at = writer.committed, now
                    if now - master_at >= _MASTER_EVERY:
                        self._master, master_at = self._upstream().now, now
                        self._check_not_ahead(writer)
                    if now - purged_at >= self.source.purge.interval > 0:
                        self.auto_purge(self.needed_from(), time.time())
                        purged_at = now
                    if self._stop.is_set():
                        break
        finally:
            writer.flush()
            writer.close()
            if writer.committed != saved:
                sub.write_meta(writer.committed)

    def _check_not_ahead(self, writer: RelayWriter) -> None:
        """The upstream's binlog never ends before the relay's (same server): if it does,
        it was reset or restored, and the relay's files no longer are its files."""
        master = self._master
        if master is not None and master.file and master < Location(writer.file, writer.end):
            raise errors.RELAY_UPSTREAM_BEHIND(master=master.short(),
                                               relay=f"{writer.file}:{writer.end}")

    def _upstream(self) -> Upstream:
        conn = connect(endpoint(self.source.from_), what=f"source {self.source.source_id}")
        try:
            if is_mariadb(conn):
                row = query_one(conn, "SELECT @@gtid_domain_id, @@server_id")
                assert row is not None
                uuid, flavor = f"{row[0]}-{row[1]}", Flavor.MARIADB
            else:
                row = query_one(conn, "SELECT @@server_uuid")
                assert row is not None
                uuid, flavor = str(row[0]), Flavor.MYSQL
            status = binlog_status(conn)
        finally:
            conn.close()
        now = None if status is None else Location(
            status.file, status.pos, parse_gtid_set(status.gtid, flavor) if status.gtid else None)
        return Upstream(uuid, flavor, now)

    def _first_start(self, upstream: Upstream) -> Location:
        needed = self.needed_from()
        if needed is not None:
            return needed
        cfg = self.source
        gtid = parse_gtid_set(cfg.relay_binlog_gtid, upstream.flavor) \
            if cfg.relay_binlog_gtid else None
        if cfg.enable_gtid and gtid is not None:
            return Location("", FILE_HEADER_END, gtid)
        if cfg.relay_binlog_name:
            return Location(cfg.relay_binlog_name, FILE_HEADER_END, gtid)
        if upstream.now is None:
            raise errors.NO_BINLOG_LOCATION(
                path=f"SHOW MASTER STATUS of source {cfg.source_id} (empty: is log_bin ON?)")
        return upstream.now

    # --- status and purge --------------------------------------------------------------
    def locations(self) -> tuple[Location | None, Location | None]:
        """(the upstream's, the relay's) binlog locations, as far as known."""
        writer, master = self._writer, self._master
        relay = None
        if writer is not None:  # a file started mid-way is empty until its first event
            written = Location(writer.file, writer.end, writer.committed.gtid_set)
            relay = writer.committed if written < writer.committed else written
        return master, relay

    def status(self) -> dict[str, Any]:
        """DM's relayStatus."""
        master, relay = self.locations()
        return {
            "masterBinlog": _pair(master), "masterBinlogGtid": gtid_text(master),
            "relaySubDir": self._sub.name if self._sub is not None else "",
            "relayBinlog": _pair(relay), "relayBinlogGtid": gtid_text(relay),
            "relayCatchUpMaster": relay is not None and master is not None and
            not relay < master,
            "stage": self.stage,
            "result": None if self.error is None else {
                "isCanceled": False, "errors": [self.error.to_process_error()]},
        }

    def purge(self, before: str, subdir: str, needed: Location | None) -> tuple[list[str], str]:
        """Delete the sub-directory's relay files before `before` (`purge-relay`), as DM
        does: never a file a subtask still needs, nor the one being written (the purge
        stops short of them). The names deleted, and what was kept short of `before`."""
        with self._lock:
            subs = self.relay.subdirs()
            sub = next((s for s in subs if s.name == subdir), None) if subdir else \
                (subs[-1] if subs else None)
            if sub is None:
                raise errors.RELAY_PURGE_REFUSED(
                    source=self.source.source_id, file=before,
                    reason=f"the relay has no sub-directory {subdir or '(none yet)'}")
            limit, why = self._purge_limit(sub, needed, before)
            doomed = [f for f in sub.binlog_files() if file_key(f) < file_key(limit)]
            self._delete(sub, doomed, "purge-relay")
        kept = f"kept {limit} and later" if limit else "kept every file"
        return doomed, f"{kept}: {why}" if why else ""

    def auto_purge(self, needed: Location | None, now: float) -> list[str]:
        """DM's automatic purge (the source's `purge` keys): the inactive files (before
        what a subtask needs and what the relay writes) older than `expires` hours, or all
        of them while the disk has less than `remain-space` GB free."""
        keys = self.source.purge
        with self._lock:
            sub = self.relay.current()
            if sub is None:
                return []
            limit, _ = self._purge_limit(sub, needed, None)
            inactive = [f for f in sub.binlog_files() if file_key(f) < file_key(limit)]
            if keys.remain_space and shutil.disk_usage(sub.path).free < keys.remain_space << 30:
                doomed, why = inactive, f"less than {keys.remain_space} GB free"
            elif keys.expires:
                doomed = [f for f in inactive if (sub.path / f).stat().st_mtime
                          < now - keys.expires * 3600]
                why = f"older than {keys.expires} h"
            else:
                return []
            self._delete(sub, doomed, f"automatic purge ({why})")
        return doomed

    def _purge_limit(self, sub: SubDir, needed: Location | None,
                     before: str | None) -> tuple[str, str]:
        """The first file a purge of `sub` keeps, and why ("" when it is `before`)."""
        limits = [(before, "")] if before else []
        if needed is not None:  # which sub-directory a task reads: the newest holding its
            holder = self.relay.find(needed)  # file, or the one to be written
            if holder == sub or (holder is None and sub == self.relay.current()):
                limits.append((needed.file, f"a task still needs {needed.short()}"))
            elif holder is not None and holder.seq < sub.seq:
                limits.append(("", f"a task still reads {holder.name}"))
        if self._writer is not None and self._sub == sub:
            limits.append((self._writer.file, f"the relay writes {self._writer.file}"))
        if not limits:  # nothing relayed yet nor needed: keep the newest file
            files = sub.binlog_files()
            limits.append((files[-1] if files else "", "the relay's newest file"))
        return min(limits, key=lambda item: file_key(item[0]))

    def _delete(self, sub: SubDir, names: list[str], why: str) -> None:
        for name in names:
            (sub.path / name).unlink()
        if names:
            log.info("%s of %s: deleted %s from %s", why, self.source.source_id,
                     ", ".join(names), sub.name)


def _pair(at: Location | None) -> str:
    return f"({at.file}, {at.pos})" if at is not None else ""



def _count(exc: errors.DMError, raw: BaseException | None = None) -> None:
    """An error the relay stopped on, for its metrics: resumable unless it pauses the relay
    (it retries every other); a write error when the relay log's files failed (an OSError
    of the file system), else a read error (the upstream, its connection, its binlog)."""
    metrics.RELAY_EXITS.labels(str(exc.code not in _FATAL).lower()).inc()
    if isinstance(raw, OSError) and not isinstance(raw, ConnectionError | TimeoutError):
        metrics.RELAY_WRITE_ERRORS.inc()
    else:
        metrics.RELAY_READ_ERRORS.inc()
