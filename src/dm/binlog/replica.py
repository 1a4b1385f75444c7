"""A replica connection: PyMySQL's handshake and auth, then the binlog dump protocol.

It registers as a replica with its own server id, asks for the stream by file/position
(both flavours), by GTID set (MySQL, COM_BINLOG_DUMP_GTID) or by GTID position (MariaDB,
@slave_connect_state), and yields events decoded by the same decoder that reads files.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pymysql
import pymysql.connections

from dm.binlog.events import Event, EventDecoder, RotateEvent, TransactionPayloadEvent
from dm.binlog.location import Flavor, Location, MariaDBGTIDSet, MySQLGTIDSet
from dm.binlog.rows.schema import SchemaProvider
from dm.dbtls import peer_cn_problem
from dm.errors import BINLOG_GET_EVENT, BINLOG_PURGED, BINLOG_START_SYNC, DB_TLS, DMError

COM_BINLOG_DUMP = 0x12
COM_REGISTER_SLAVE = 0x15
COM_BINLOG_DUMP_GTID = 0x1E
BINLOG_DUMP_NON_BLOCK = 0x01
BINLOG_SEND_ANNOTATE_ROWS_EVENT = 0x02
BINLOG_THROUGH_GTID = 0x04
MARIA_SLAVE_CAPABILITY_GTID = 4
ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236
_MAX_PACKET = 0xFFFFFF  # a payload this long continues in the next packet
_CR_SERVER_LOST = 2013
_T = TypeVar("_T")


@dataclass(frozen=True)
class ReplicaConfig:
    host: str
    port: int
    user: str
    password: str
    server_id: int
    heartbeat_period: float = 30.0  # seconds; 0 turns heartbeats off
    connect_timeout: float = 10.0
    read_timeout: float | None = None  # None: 3 heartbeat periods (or no timeout)
    ssl: dict[str, Any] | None = None
    allowed_cn: tuple[str, ...] = ()  # cert-allowed-cn
    report_host: str = "pydm"

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


class _Link(pymysql.connections.Connection):  # type: ignore[misc]
    """PyMySQL's connection, opened up for replication commands and raw packets."""

    def send_command(self, command: int, payload: bytes) -> None:
        self._execute_command(command, payload)

    def read_raw(self) -> bytes:
        """One response packet's payload (before the stream starts: register, errors)."""
        data: bytes = self._read_packet().get_all_data()
        return data

    def query_value(self, sql: str) -> Any:
        with self.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
        return None if row is None else row[0]


class _PacketReader:
    """The binlog stream's packets, cut from large socket reads.

    One event is one packet, so this is where per-event overhead lives: one `recv` of up
    to 1 MiB is cut into all the packets it completes at once. `ready()` says, without
    blocking, whether the next packet can be had now; a caller batching events sends its
    batch when it cannot."""

    _CHUNK = 1 << 20

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._packets: deque[bytes] = deque()
        self._rest = b""  # the start of a packet not received whole yet
        self._parts: list[bytes] = []  # a payload continued over several packets

    def ready(self) -> bool:
        if self._packets:
            return True
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        return bool(select.select([sock], [], [], 0)[0])

    def packets(self) -> list[bytes]:
        """Every whole payload received, at least one (blocking until it is here); an error
        packet raises, the payloads before it dropped (the caller starts again from what it
        wrote). One call per socket read instead of one per event."""
        packets = self._packets
        while not packets:
            self._fill()
        batch = list(packets)
        packets.clear()
        for payload in batch:
            if payload[0] == 0xFF:
                pymysql.err.raise_mysql_exception(payload)
        return batch

    def packet(self) -> bytes:
        """The next whole payload, blocking until it is here; an error packet raises."""
        packets = self._packets
        while not packets:
            self._fill()
        payload = packets.popleft()
        if payload[0] == 0xFF:
            pymysql.err.raise_mysql_exception(payload)
        return payload

    def _fill(self) -> None:
        try:
            chunk = self._sock.recv(self._CHUNK)
        except OSError as exc:
            raise pymysql.err.OperationalError(_CR_SERVER_LOST, f"Lost connection ({exc!r})"
                                               ) from exc
        if not chunk:
            raise pymysql.err.OperationalError(_CR_SERVER_LOST, "Lost connection to the server")
        data = self._rest + chunk if self._rest else chunk
        size, at, append = len(data), 0, self._packets.append
        while size - at >= 4:
            length = data[at] | data[at + 1] << 8 | data[at + 2] << 16
            end = at + 4 + length
            if end > size:
                break
            payload = data[at + 4:end]
            at = end
            if length == _MAX_PACKET or self._parts:
                self._parts.append(payload)
                if length == _MAX_PACKET:
                    continue
                payload = b"".join(self._parts)
                self._parts = []
            append(payload)
        self._rest = data[at:]


def _is_eof(payload: bytes) -> bool:
    """The EOF packet: a non-blocking stream has caught up."""
    return payload[0] == 0xFE and len(payload) < 9


def _lenstr(text: str) -> bytes:
    data = text.encode("utf-8")[:255]
    return bytes([len(data)]) + data


class ReplicaConnection:
    """One binlog stream from one upstream; not thread-safe. Use `start_*`, then `events()`."""

    def __init__(self, config: ReplicaConfig, schema_provider: SchemaProvider | None = None,
                 *, annotate_rows: bool = True) -> None:
        self.config = config
        self.flavor: Flavor = Flavor.MYSQL
        self.decoder = EventDecoder(schema_provider)
        self._start = Location("", 0)  # where the stream began, then file/pos as they move
        self._file, self._pos = "", 0
        self._annotate = annotate_rows
        self._link: _Link | None = None
        self._packets: _PacketReader | None = None
        self._non_blocking = False
        self.checksum = False

    # --- connecting ---------------------------------------------------------------
    def _connect(self) -> _Link:
        cfg = self.config
        timeout = cfg.read_timeout
        if timeout is None and cfg.heartbeat_period > 0:
            timeout = max(3 * cfg.heartbeat_period, 10.0)
        try:
            link = _Link(host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password,
                         connect_timeout=cfg.connect_timeout, read_timeout=timeout,
                         ssl=cfg.ssl, ssl_disabled=cfg.ssl is None,  # plain unless asked
                         autocommit=True, charset="utf8mb4")
            problem = peer_cn_problem(link, cfg.allowed_cn)
            if problem:
                link.close()
                raise DB_TLS(what="upstream", target=cfg.target, detail=problem,
                             file="the source's from.security")
            version = str(link.query_value("SELECT VERSION()"))
            self.flavor = Flavor.MARIADB if "mariadb" in version.lower() else Flavor.MYSQL
            checksum = str(link.query_value("SELECT @@GLOBAL.binlog_checksum") or "NONE")
            with link.cursor() as cur:
                cur.execute("SET @master_binlog_checksum = @@GLOBAL.binlog_checksum")
                if cfg.heartbeat_period > 0:
                    ns = int(cfg.heartbeat_period * 1_000_000_000)
                    cur.execute(f"SET @master_heartbeat_period = {ns}")
                if self.flavor is Flavor.MARIADB:
                    cur.execute(f"SET @mariadb_slave_capability = {MARIA_SLAVE_CAPABILITY_GTID}")
        except pymysql.err.MySQLError as exc:
            raise BINLOG_START_SYNC(exc, target=cfg.target, location="(connecting)") from exc
        self.checksum = checksum.upper() == "CRC32"  # the events sent carry a CRC32
        self.decoder = EventDecoder(self.decoder.tables._provider, checksum=self.checksum)
        return link

    def _register(self, link: _Link) -> None:
        cfg = self.config
        payload = (struct.pack("<I", cfg.server_id) + _lenstr(cfg.report_host)
                   + _lenstr(cfg.user) + _lenstr("") + struct.pack("<HII", 0, 0, 0))
        link.send_command(COM_REGISTER_SLAVE, payload)
        link.read_raw()

    def _dump_flags(self, non_blocking: bool) -> int:
        flags = BINLOG_DUMP_NON_BLOCK if non_blocking else 0
        if self.flavor is Flavor.MARIADB and self._annotate:
            flags |= BINLOG_SEND_ANNOTATE_ROWS_EVENT
        return flags

    def _open(self, location: Location, send: Any) -> None:
        self.close()
        link = self._connect()
        self._start = location
        self._file, self._pos = location.file, location.pos
        try:
            self._register(link)
            send(link)
        except pymysql.err.MySQLError as exc:
            link.close()
            raise BINLOG_START_SYNC(exc, target=self.config.target,
                                    location=self._where()) from exc
        self._link = link
        link._sock.settimeout(link._read_timeout)  # the stream is read past PyMySQL
        self._packets = _PacketReader(link._sock)

    def start_at(self, location: Location, *, non_blocking: bool = False) -> None:
        """Stream from a file and position (both flavours)."""
        self._non_blocking = non_blocking

        def send(link: _Link) -> None:
            payload = (struct.pack("<IHI", location.pos, self._dump_flags(non_blocking),
                                   self.config.server_id) + location.file.encode("utf-8"))
            link.send_command(COM_BINLOG_DUMP, payload)

        self._open(location, send)

    def start_at_gtid(self, gtid_set: MySQLGTIDSet | MariaDBGTIDSet, *,
                      non_blocking: bool = False) -> None:
        """Stream the transactions not in `gtid_set` (MariaDB: after each domain's GTID)."""
        self._non_blocking = non_blocking
        location = Location("", 4, gtid_set)

        def send(link: _Link) -> None:
            flags = self._dump_flags(non_blocking)
            if isinstance(gtid_set, MariaDBGTIDSet):
                with link.cursor() as cur:
                    cur.execute("SET @slave_connect_state = %s", (str(gtid_set),))
                    cur.execute("SET @slave_gtid_strict_mode = 0")
                    cur.execute("SET @slave_gtid_ignore_duplicates = 0")
                payload = struct.pack("<IHI", 4, flags, self.config.server_id)
                link.send_command(COM_BINLOG_DUMP, payload)
                return
            data = gtid_set.encode()
            payload = (struct.pack("<HII", flags | BINLOG_THROUGH_GTID, self.config.server_id, 0)
                       + struct.pack("<QI", 4, len(data)) + data)
            link.send_command(COM_BINLOG_DUMP_GTID, payload)

        self._open(location, send)

    # --- reading ----------------------------------------------------------------
    def _where(self) -> str:
        loc = self.location
        if loc.file:
            return loc.short()
        return f"GTID {loc.gtid_set}" if loc.gtid_set is not None else "(start)"

    def _read_error(self, exc: pymysql.err.MySQLError) -> DMError:
        if (isinstance(exc, pymysql.err.OperationalError) and exc.args
                and exc.args[0] == ER_MASTER_FATAL_ERROR_READING_BINLOG):
            return BINLOG_PURGED(exc, location=self._where(), target=self.config.target)
        return BINLOG_GET_EVENT(exc, target=self.config.target, location=self._where())

    def events(self) -> Iterator[Event]:
        """Decoded events until the stream ends (only in non-blocking mode) or fails.
        The events inside a TRANSACTION_PAYLOAD follow it."""
        packets, decoder = self._packets, self.decoder
        assert packets is not None, "call start_at() or start_at_gtid() first"
        while True:
            data = self._read(packets.packet)
            if _is_eof(data):
                return
            event = decoder.decode(data, 1)
            kind = type(event)
            if kind is RotateEvent:  # the position, as plain fields: a Location when asked
                assert isinstance(event, RotateEvent)
                self._file, self._pos = event.next_file, event.position
            elif event.header[4]:
                self._pos = event.header[4]
            yield event
            if kind is TransactionPayloadEvent:
                assert isinstance(event, TransactionPayloadEvent)
                yield from decoder.expand(event)

    def raw_batches(self) -> Iterator[list[memoryview]]:
        """The events' bytes as sent (header, body, checksum), undecoded, in batches of
        what has arrived, until the stream ends (only in non-blocking mode) or fails:
        what a relay log writes to disk."""
        packets = self._packets
        assert packets is not None, "call start_at() or start_at_gtid() first"
        while True:
            batch = self._read(packets.packets)
            events = [memoryview(data)[1:] for data in batch if not _is_eof(data)]
            if events:
                yield events
            if len(events) < len(batch):
                return

    def _read(self, take: Callable[[], _T]) -> _T:
        """`take` from the stream, its failure a coded error naming where the stream was."""
        try:
            return take()
        except pymysql.err.MySQLError as exc:
            raise self._read_error(exc) from exc

    def ready(self) -> bool:
        """Whether the next event can be read without waiting for the upstream."""
        return self._packets is not None and self._packets.ready()

    @property
    def location(self) -> Location:
        """Where the stream stands (the GTID set is the one it started from)."""
        return Location(self._file, self._pos, self._start.gtid_set)

    def close(self) -> None:
        self._packets = None
        if self._link is not None:
            link, self._link = self._link, None
            try:
                link.close()
            except pymysql.err.Error:
                link._force_close()

    def __enter__(self) -> ReplicaConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ReplicaConfig", "ReplicaConnection"]
