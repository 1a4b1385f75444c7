"""Which relay log a worker runs, following etcd: the source it is bound to when that
source's relay is on for it (`enable-relay`, or this worker named by start-relay), else the
source start-relay named it for (a warm copy, bound to nothing). See docs/relay.md."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from dm import errors
from dm.binlog.location import Location
from dm.config.source import SourceConfig
from dm.config.stored import from_doc
from dm.config.subtask import SubTaskConfig
from dm.master.state import ClusterState, Stage
from dm.relay import unit as relay_unit
from dm.relay.unit import RelayUnit
from dm.worker.build import build_subtask, replica_server_id
from dm.worker.subtask import RUNNING, SubTask

log = logging.getLogger(__name__)


class RelayFollower:
    def __init__(self, name: str, state: ClusterState, base_dir: Path, relay_dir: str,
                 subtasks: Callable[[], dict[str, SubTask]]) -> None:
        self.name = name
        self.state = state
        self.base_dir = base_dir
        self.relay_dir = relay_dir  # the worker's relay-dir (DM: wins over the source's)
        self.subtasks = subtasks  # the bound source's, run by the worker
        self.relay: RelayUnit | None = None
        self._standby: dict[str, SubTask] = {}  # unbound: the named source's, never started
        self._rev = 0

    async def keep_warm(self, named: str | None) -> None:
        """Bound to no source, a worker that start-relay named for a source relays it (a
        warm copy for when the source moves here), from where the source's subtasks need
        it: their downstream checkpoints, read through subtasks built but never run."""
        doc = await self.state.source(named) if named is not None else None
        if named is None or doc is None:
            self._standby.clear()
            await self.follow(None)
            return
        cfg = from_doc(SourceConfig, doc)
        wanted = {t: c for (s, t), c in (await self.state.subtasks()).items() if s == named}
        if wanted.keys() != self._standby.keys():
            self._standby = {t: build_subtask(from_doc(SubTaskConfig, c), cfg, self.base_dir)
                             for t, c in wanted.items()}
        await self.follow(cfg)

    def drop_standby(self) -> None:
        """Bound to a source: its running subtasks say what the relay must keep."""
        self._standby.clear()

    async def follow(self, source: SourceConfig | None) -> None:
        """Relay `source` as its stage in etcd says (none: its relay is off); None: relay
        nothing."""
        stage = await self.state.relay_stage(source.source_id) if source is not None else None
        if self.relay is not None and (source is None or stage is None or
                                       self.relay.source.source_id != source.source_id):
            log.info("relay of %s: stopped", self.relay.source.source_id)
            await asyncio.to_thread(self.relay.stop)
            self.relay = None
            await asyncio.to_thread(self._restart_readers)
        if source is not None and stage is not None:
            await asyncio.to_thread(self._follow_stage, source, stage)

    def _follow_stage(self, source: SourceConfig, stage: Stage) -> None:
        """Run or pause the relay as its stage in etcd says (start-relay, pause-relay...)."""
        if self.relay is None:
            base = Path(self.relay_dir) / self.name if self.relay_dir else Path(source.relay_dir)
            directory = base if base.is_absolute() else self.base_dir / base
            self.relay = RelayUnit(source, directory / source.source_id, self.needed_from,
                                   replica_server_id(source.server_id, f"relay {self.name}"))
            self._rev = 0
        if stage.rev == self._rev:
            if self.relay.stage != relay_unit.RUNNING:  # stopped by an error it cannot pass
                self._restart_readers()
            return
        self._rev = stage.rev
        log.info("relay of %s: expected stage %s (rev %d)", source.source_id, stage.expect,
                 stage.rev)
        if stage.expect == "Running":
            self.relay.start()
        else:
            self.relay.pause()
            self._restart_readers()

    def _restart_readers(self) -> None:
        """Sync units reading a relay that no longer grows start again from their
        checkpoints, reading the upstream."""
        for sub in list(self.subtasks().values()):
            if sub.stage == RUNNING and sub.sync is not None and \
                    sub.sync.binlog_type == "local":
                log.info("subtask %s: the relay stopped; reading the upstream", sub.name)
                sub.pause()
                sub.start()

    def to_read(self) -> Path | None:
        """The relay directory a sync unit reads from, while the relay runs."""
        relay = self.relay
        return relay.directory if relay is not None and relay.stage == relay_unit.RUNNING \
            else None

    def needed_from(self) -> Location | None:
        """The earliest binlog location a subtask of the relayed source still needs."""
        subs = list(self.subtasks().values()) or list(self._standby.values())
        needed = [at for sub in subs if sub.sync is not None
                  and (at := sub.sync.needed_from()) is not None]
        return min(needed, default=None)

    def purge(self, source: str, before: str, subdir: str) -> tuple[list[str], str]:
        if self.relay is None:
            raise errors.RELAY_PURGE_REFUSED(source=source, file=before,
                                             reason=f"worker {self.name} has no relay log on")
        return self.relay.purge(before, subdir, self.needed_from())
