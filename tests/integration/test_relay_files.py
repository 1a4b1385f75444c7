"""The relay unit against a real mariadbd: its files hold the upstream's binlog byte for
byte at the upstream's offsets, a torn tail is cut and pulled again, and the relay read
as a stream gives the events the upstream's own files give."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dm.binlog.events import HeartbeatEvent, read_binlog_file
from dm.binlog.events.base import HEADER
from dm.binlog.location import Location
from dm.config.source import SourceConfig, parse_source_config
from dm.relay.layout import RelayDir
from dm.relay.stream import RelayStream, relay_holds
from dm.relay.unit import RelayUnit
from dm.sandbox import MariaDB
from tests.integration.conftest import own_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "relay-up", 21)


def _source(server: MariaDB, **extra: str) -> SourceConfig:
    lines = ["source-id: relay-src", "server-id: 4321", "enable-relay: true",
             f"from: {{host: 127.0.0.1, port: {server.port}, user: root, password: ''}}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return parse_source_config("\n".join(lines) + "\n", "source.yaml")


def _binlogs(server: MariaDB) -> list[Path]:
    return sorted(p for p in server.base.glob("binlog.[0-9]*"))


def _workload(server: MariaDB, start: int, n: int) -> None:
    server.execute("CREATE TABLE IF NOT EXISTS relaydb.t (id INT PRIMARY KEY, v TEXT)")
    conn = server.connect()
    with conn.cursor() as cur:
        for i in range(start, start + n):
            cur.execute("BEGIN")
            cur.execute("INSERT INTO relaydb.t (id, v) VALUES (%s, %s)", (i, "x" * (i % 700)))
            cur.execute("UPDATE relaydb.t SET v = CONCAT(v, 'y') WHERE id = %s", (i,))
            cur.execute("COMMIT")
    conn.close()


def _body(path: Path) -> bytes:
    """A binlog file past its FORMAT_DESCRIPTION (whose in-use flag differs while the
    upstream writes the file)."""
    data = path.read_bytes()
    return data[4 + HEADER.unpack_from(data, 4)[3]:]


def _wait_relayed(server: MariaDB, relay: Path, since: int = 0, timeout: float = 60) -> None:
    """Until the relay's files have the sizes of the upstream's (from the `since`th)."""
    deadline = time.monotonic() + timeout
    while True:
        sub = RelayDir(relay).current()
        want = {p.name: p.stat().st_size for p in _binlogs(server)[since:]}
        have = {n: (sub.path / n).stat().st_size for n in sub.binlog_files()} if sub else {}
        if have == want:
            return
        assert time.monotonic() < deadline, (want, have)
        time.sleep(0.1)


def _assert_same_files(server: MariaDB, relay: Path) -> None:
    sub = RelayDir(relay).current()
    assert sub is not None
    for path in _binlogs(server):
        assert _body(sub.path / path.name) == _body(path), path.name


def test_relay_files_are_the_upstream_binlog_and_a_torn_tail_is_pulled_again(
        origin: MariaDB, tmp_path: Path) -> None:
    origin.execute("DROP DATABASE IF EXISTS relaydb", "CREATE DATABASE relaydb")
    first = _binlogs(origin)[0].name
    relay = tmp_path / "relay"
    unit = RelayUnit(_source(origin, **{"relay-binlog-name": first}), relay, lambda: None,
                     server_id=4321)
    unit.start()
    try:
        _workload(origin, 0, 200)
        origin.execute("FLUSH BINARY LOGS", "ALTER TABLE relaydb.t ADD COLUMN w INT")
        _workload(origin, 200, 200)
        _wait_relayed(origin, relay)
        _assert_same_files(origin, relay)
        sub = RelayDir(relay).current()
        # MariaDB has no server_uuid: <gtid_domain_id>-<server_id>, as DM names it
        assert sub is not None and sub.name == f"0-{origin.server_id}.000001"
        status = unit.status()
        assert status["relaySubDir"] == sub.name and status["stage"] == "Running"
    finally:
        unit.stop()
    # a kill mid-write: the last file ends in a torn event, past the meta
    last = _binlogs(origin)[-1].name
    path = sub.path / last
    size = path.stat().st_size
    cut = random.Random(7).randrange(size - 3000, size - 1)
    with open(path, "r+b") as f:
        f.truncate(cut)
    unit = RelayUnit(_source(origin), relay, lambda: None, server_id=4321)
    unit.start()
    try:
        _workload(origin, 400, 50)
        _wait_relayed(origin, relay)
        _assert_same_files(origin, relay)
    finally:
        unit.stop()
    meta = sub.read_meta()
    assert meta is not None and meta.file == last and meta.pos == path.stat().st_size


def test_the_relay_read_as_a_stream_gives_the_upstreams_events(
        origin: MariaDB, tmp_path: Path) -> None:
    origin.execute("DROP DATABASE IF EXISTS relaydb", "CREATE DATABASE relaydb",
                   "FLUSH BINARY LOGS")
    files = _binlogs(origin)
    start = Location(files[-1].name, 4)
    relay = tmp_path / "relay"
    unit = RelayUnit(_source(origin), relay, lambda: start, server_id=4321)
    unit.start()
    try:
        _workload(origin, 0, 100)
        origin.execute("FLUSH BINARY LOGS")
        _workload(origin, 100, 100)
        _wait_relayed(origin, relay, since=len(files) - 1)
        assert relay_holds(RelayDir(relay), start)
        assert not relay_holds(RelayDir(relay), Location(files[0].name, 4))
        got = []
        with RelayStream(RelayDir(relay), "relay-src") as stream:
            stream.start_at(start)
            for event in stream.events():
                if isinstance(event, HeartbeatEvent):
                    break
                got.append((event.header.type, event.header.log_pos))
        _wait_relayed(origin, relay, since=len(files) - 1)  # idle: no event comes after
        expected = [(e.header.type, e.header.log_pos)
                    for p in _binlogs(origin)[len(files) - 1:]
                    for e in read_binlog_file(p) if e.header.type != 15]  # its FDEs: not events
        assert got == expected
    finally:
        unit.stop()


def test_the_automatic_purge_deletes_only_inactive_files(origin: MariaDB,
                                                         tmp_path: Path) -> None:
    """`purge.expires`: inactive files older than that many hours go, on the relay's
    `purge.interval`; `purge.remain-space`: all inactive files go while the disk has less
    free. Never the file a task needs (here the second-newest) nor the one being written."""
    origin.execute("DROP DATABASE IF EXISTS relaydb", "CREATE DATABASE relaydb")
    first = _binlogs(origin)[-1].name
    for _ in range(4):
        _workload(origin, 0, 10)
        origin.execute("DROP TABLE relaydb.t", "FLUSH BINARY LOGS")
    origin.execute("CREATE TABLE relaydb.ticks (id INT AUTO_INCREMENT PRIMARY KEY)")
    files = [p.name for p in _binlogs(origin) if p.name >= first]
    needed = [Location(first, 4)]  # where the relay starts; later, what a task needs
    relay = tmp_path / "relay"
    unit = RelayUnit(_source(origin, purge="{interval: 1, expires: 1, remain-space: 0}"),
                     relay, lambda: needed[0], server_id=4321)
    sub = None
    unit.start()
    try:
        _wait_relayed(origin, relay, since=len(_binlogs(origin)) - len(files))
        sub = RelayDir(relay).current()
        assert sub is not None
        needed[0] = Location(files[-2], 4)
        old = time.time() - 2 * 3600
        for name in files[:2]:  # two hours old: past `expires`
            os.utime(sub.path / name, (old, old))
        os.utime(sub.path / files[-2], (old, old))  # old, but a task needs it
        deadline = time.monotonic() + 30
        while sub.binlog_files() != files[2:]:
            assert time.monotonic() < deadline, sub.binlog_files()
            origin.execute("INSERT INTO relaydb.ticks () VALUES ()")  # the relay's loop turns
            time.sleep(0.2)
    finally:
        unit.stop()
    unit = RelayUnit(_source(origin, purge="{interval: 1, remain-space: 1000000}"),
                     relay, lambda: needed[0], server_id=4321)
    unit.start()
    try:
        deadline = time.monotonic() + 30
        while sub.binlog_files() != files[-2:]:  # low on space: every inactive file goes
            assert time.monotonic() < deadline, sub.binlog_files()
            origin.execute("INSERT INTO relaydb.ticks () VALUES ()")
            time.sleep(0.2)
    finally:
        unit.stop()


def test_an_upstream_reset_under_the_relay_pauses_it_with_a_clear_error(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """RESET MASTER upstream leaves the relay's files naming positions the upstream no
    longer has (its binlog.000001 is rewritten): the relay stops, says so, and a sync unit
    would not read it (docs/relay.md)."""
    server = MariaDB(tmp_path / "up", server_id=22)
    server.start(tmp_path_factory.getbasetemp() / "cache")
    try:
        server.execute("CREATE DATABASE r", "CREATE TABLE r.t (id INT PRIMARY KEY, v TEXT)",
                       "INSERT INTO r.t VALUES (1, REPEAT('x', 2000))")
        first = _binlogs(server)[0].name
        unit = RelayUnit(_source(server, **{"relay-binlog-name": first}), tmp_path / "relay",
                         lambda: None, server_id=4321)
        unit.start()
        try:
            _wait_relayed(server, tmp_path / "relay")
            server.execute("RESET MASTER", "INSERT INTO r.t VALUES (2, 'y')")
            deadline = time.monotonic() + 30
            while unit.stage == "Running":
                assert time.monotonic() < deadline, unit.status()
                time.sleep(0.2)
            status = unit.status()
            assert status["stage"] == "Paused", status
            assert [e["ErrCode"] for e in status["result"]["errors"]] == [30043], status
        finally:
            unit.stop()
    finally:
        server.stop()
