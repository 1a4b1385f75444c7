"""DM's relay directory layout.

    <relay-dir>/server-uuid.index        one sub-directory name per line, oldest first
    <relay-dir>/<uuid>.<NNNNNN>/         one per upstream server met, numbered from 000001
        <upstream binlog file names>     the upstream's bytes at the upstream's offsets
        relay.meta                       TOML: binlog-name, binlog-pos, binlog-gtid

A MariaDB server has no server_uuid: DM names it `<gtid_domain_id>-<server_id>`.
relay.meta always names the end of a whole transaction already in the files, so a
restart resumes the upstream stream there (a torn tail past it is cut, writer.py).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dm import errors
from dm.binlog.location import (
    Flavor,
    Location,
    file_key,
    gtid_set_order,
    gtid_text,
    parse_gtid_set,
)

INDEX_FILE = "server-uuid.index"
META_FILE = "relay.meta"


@dataclass(frozen=True)
class SubDir:
    """One `<uuid>.<NNNNNN>` sub-directory."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def uuid(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def seq(self) -> int:
        return int(self.name.rpartition(".")[2])

    def binlog_files(self) -> list[str]:
        """The relayed binlog files, in upstream order."""
        names = [p.name for p in self.path.iterdir() if p.is_file() and p.name != META_FILE
                 and not p.name.endswith(".tmp")] if self.path.exists() else []
        return sorted(names, key=file_key)

    def read_meta(self, flavor: Flavor | None = None) -> Location | None:
        path = self.path / META_FILE
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise errors.RELAY_META(exc, path=str(path), detail=str(exc)) from exc
        name, pos, gtid = doc.get("binlog-name"), doc.get("binlog-pos"), doc.get("binlog-gtid")
        if not isinstance(name, str) or not isinstance(pos, int) or not isinstance(gtid, str):
            raise errors.RELAY_META(path=str(path), detail="binlog-name, binlog-pos and "
                                                            "binlog-gtid are required")
        return Location(name, pos, parse_gtid_set(gtid, flavor) if gtid else None)

    def write_meta(self, at: Location) -> None:
        """Atomically: a kill at any moment leaves the old meta or the new one."""
        text = (f"binlog-name = {json.dumps(at.file)}\nbinlog-pos = {at.pos}\n"
                f"binlog-gtid = {json.dumps(gtid_text(at))}\n")
        tmp = self.path / (META_FILE + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path / META_FILE)


class RelayDir:
    """The relay directory of one source on one worker."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def subdirs(self) -> list[SubDir]:
        """The sub-directories the index names, oldest first."""
        index = self.path / INDEX_FILE
        try:
            lines = index.read_text().split()
        except FileNotFoundError:
            return []
        subs = [SubDir(self.path / line) for line in lines]
        for sub in subs:
            if not sub.name.rpartition(".")[2].isdigit():
                raise errors.RELAY_INDEX(path=str(index), line=sub.name)
        return subs

    def current(self) -> SubDir | None:
        subs = self.subdirs()
        return subs[-1] if subs else None

    def open_subdir(self, uuid: str) -> SubDir:
        """The newest sub-directory when it is `uuid`'s, else a new one numbered next."""
        subs = self.subdirs()
        if subs and subs[-1].uuid == uuid:
            subs[-1].path.mkdir(parents=True, exist_ok=True)
            return subs[-1]
        sub = SubDir(self.path / f"{uuid}.{(subs[-1].seq if subs else 0) + 1:06d}")
        sub.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (INDEX_FILE + ".tmp")
        tmp.write_text("".join(f"{s.name}\n" for s in [*subs, sub]))
        os.replace(tmp, self.path / INDEX_FILE)
        return sub

    def find(self, location: Location) -> SubDir | None:
        """The sub-directory holding `location`'s file: the newest one, unless an older
        one also holds a file of that name (after an upstream switch two servers' files
        can share names) and relayed past `location` (its relayed GTID set holds more
        than `location`'s): the location is one of that server's."""
        holding = [sub for sub in self.subdirs() if (sub.path / location.file).exists()]
        wanted = location.gtid_set
        if wanted is not None:
            for sub in holding[:-1]:
                relayed = sub.read_meta(wanted.flavor)
                end = relayed.gtid_set if relayed is not None else None
                if end is not None and gtid_set_order(end, wanted) == 1:
                    return sub
        return holding[-1] if holding else None
