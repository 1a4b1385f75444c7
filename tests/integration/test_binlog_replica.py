"""The binlog codec against a real mariadbd: every column type written upstream, read back
over a replica connection and compared with SELECT; starts by file/pos and by GTID,
rotation, and a purged binlog."""

from __future__ import annotations

import re
import time as time_module
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dm.binlog.events import Event, RotateEvent, RowsEvent
from dm.binlog.location import Location, MariaDBGTIDSet
from dm.binlog.replica import ReplicaConfig, ReplicaConnection
from dm.binlog.rows import ColumnInfo, TableSchema
from dm.binlog.rows.charsets import LATIN1_TABLE
from dm.errors import DMError
from dm.sandbox import MariaDB

pytestmark = pytest.mark.integration
SETTINGS = settings(deadline=None, max_examples=25, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

COLUMNS = [
    ("id", "INT NOT NULL PRIMARY KEY"),
    ("ti", "TINYINT"), ("tiu", "TINYINT UNSIGNED"), ("si", "SMALLINT"),
    ("siu", "SMALLINT UNSIGNED"), ("mi", "MEDIUMINT"), ("miu", "MEDIUMINT UNSIGNED"),
    ("i", "INT"), ("iu", "INT UNSIGNED"), ("bi", "BIGINT"), ("biu", "BIGINT UNSIGNED"),
    ("d1", "DECIMAL(10,2)"), ("d2", "DECIMAL(65,30)"), ("d3", "DECIMAL(18,0) UNSIGNED"),
    ("f", "FLOAT"), ("db", "DOUBLE"),
    ("dt", "DATE"), ("dtm", "DATETIME"), ("dtm6", "DATETIME(6)"), ("ts3", "TIMESTAMP(3) NULL"),
    ("tm", "TIME"), ("tm2", "TIME(2)"), ("yr", "YEAR"),
    ("c", "CHAR(10) CHARACTER SET utf8mb4"), ("vc", "VARCHAR(300) CHARACTER SET utf8mb4"),
    ("tx", "TEXT CHARACTER SET utf8mb4"), ("cl", "CHAR(5) CHARACTER SET latin1"),
    ("vl", "VARCHAR(20) CHARACTER SET latin1"), ("tl", "TEXT CHARACTER SET latin1"),
    ("bl", "BLOB"), ("vb", "VARBINARY(20)"), ("bn", "BINARY(4)"),
    ("js", "JSON"), ("en", "ENUM('a','b','ccc')"), ("st", "SET('x','y','z')"),
    ("b1", "BIT(1)"), ("b12", "BIT(12)"), ("b64", "BIT(64)"),
]
NAMES = [n for n, _ in COLUMNS]


def _ints(bits: int, unsigned: bool) -> st.SearchStrategy[int]:
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.one_of(st.sampled_from([lo, hi, 0]), st.integers(lo, hi))


def _dec(precision: int, scale: int, unsigned: bool = False) -> st.SearchStrategy[Decimal]:
    top = 10**precision - 1
    unscaled = st.one_of(st.sampled_from([top, 0, 1]), st.integers(0 if unsigned else -top, top))
    return unscaled.map(lambda n: Decimal(f"{n}E-{scale}"))  # exact: no context rounding


# MySQL's latin1 is cp1252 plus five C1 controls: exactly the characters of its decode table.
latin1_text = st.text(st.sampled_from(LATIN1_TABLE[1:]), max_size=5)
utf8_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6)
                           | st.text(max_size=5), lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=6)


def _nullable(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


ROW = st.fixed_dictionaries({
    "ti": _nullable(_ints(8, False)), "tiu": _ints(8, True), "si": _ints(16, False),
    "siu": _ints(16, True), "mi": _ints(24, False), "miu": _ints(24, True),
    "i": _ints(32, False), "iu": _ints(32, True), "bi": _ints(64, False),
    "biu": _ints(64, True), "d1": _nullable(_dec(10, 2)), "d2": _dec(65, 30),
    "d3": _dec(18, 0, True),
    "f": st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    "db": st.floats(allow_nan=False, allow_subnormal=False,
                                                           allow_infinity=False),
    "dt": st.dates(date(1000, 1, 1), date(9999, 12, 31)),
    "dtm": st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
    "dtm6": st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31)),
    "ts3": _nullable(st.datetimes(datetime(1970, 1, 2), datetime(2038, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))),
    "tm": st.integers(-838 * 3600 - 3599, 838 * 3600 + 3599).map(
        lambda s: timedelta(seconds=s)),
    "tm2": st.integers(-(838 * 3600 + 3599) * 100, (838 * 3600 + 3599) * 100).map(
        lambda cs: timedelta(microseconds=cs * 10000)),
    "yr": st.one_of(st.just(0), st.integers(1901, 2155)),
    "c": utf8_text.map(lambda s: s[:10].rstrip(" ")), "vc": utf8_text, "tx": utf8_text,
    "cl": latin1_text.map(lambda s: s.rstrip(" ")), "vl": latin1_text, "tl": latin1_text,
    "bl": st.binary(max_size=20), "vb": st.binary(max_size=20),
    "bn": st.binary(min_size=0, max_size=4),
    "js": _nullable(json_values), "en": st.sampled_from(["a", "b", "ccc"]),
    "st": st.sets(st.sampled_from(["x", "y", "z"])).map(
        lambda s: ",".join(v for v in "xyz" if v in s)),
    "b1": st.integers(0, 1), "b12": st.integers(0, 2**12 - 1), "b64": st.integers(0, 2**64 - 1),
})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    base = tmp_path_factory.mktemp("binlog-upstream")
    db = MariaDB(base, server_id=71).start(tmp_path_factory.mktemp("binlog-cache"))
    try:
        db.execute("CREATE DATABASE codec",
                   f"CREATE TABLE codec.t ({', '.join(f'`{n}` {t}' for n, t in COLUMNS)})")
        yield db
    finally:
        db.stop()


def _connect(server: MariaDB) -> pymysql.Connection:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    return conn


def _master_status(server: MariaDB) -> tuple[Location, str]:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            file, pos = cur.fetchone()[:2]
            cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
            gtid = cur.fetchone()[0]
        return Location(file, int(pos)), gtid
    finally:
        conn.close()


def _config(server: MariaDB) -> ReplicaConfig:
    return ReplicaConfig("127.0.0.1", server.port, "root", "", server_id=9000 + server.port % 1000,
                         heartbeat_period=1.0)


def _schema_from_information_schema(server: MariaDB, db: str, table: str) -> TableSchema:
    """What a schema tracker would supply (here read from the server itself)."""
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, "
                    "DATETIME_PRECISION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
                    "AND TABLE_NAME=%s ORDER BY ORDINAL_POSITION", (db, table))
        rows = cur.fetchall()
    conn.close()
    cols = []
    for name, dtype, ctype, charset, digits in rows:
        members = tuple(re.findall(r"'((?:[^']|'')*)'", ctype)) if dtype in ("enum", "set") else ()
        cols.append(ColumnInfo(name, dtype, "unsigned" in ctype, charset,
                               members if dtype == "enum" else (),
                               members if dtype == "set" else (), int(digits or 0)))
    return TableSchema(db, table, cols)


def _read_rows(server: MariaDB, start: Location, provider: Any = None) -> list[RowsEvent]:
    with ReplicaConnection(_config(server), provider) as rep:
        rep.start_at(start, non_blocking=True)
        return [e for e in rep.events() if isinstance(e, RowsEvent)]


def _normalise(name: str, value: Any) -> Any:
    """SELECT's value (through PyMySQL) in the codec's terms."""
    if name.startswith("b") and name[1:].isdigit() and isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if name == "f" and value is not None:  # SELECT shows FLOAT with 6 digits only
        return f"{value:.6g}"
    if name == "bn" and isinstance(value, bytes):
        return value
    return value


def _insert(server: MariaDB, row_id: int, row: dict[str, Any]) -> None:
    cols = ["id", *row]
    values = [row_id, *row.values()]
    values = [v.isoformat(" ") if isinstance(v, datetime) else v for v in values]
    values = [_time_text(v) if isinstance(v, timedelta) else v for v in values]
    values = [format(v, "f") if isinstance(v, Decimal) else v for v in values]
    import json
    values[cols.index("js")] = None if row["js"] is None else json.dumps(row["js"])
    conn = _connect(server)
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO codec.t ({', '.join(f'`{c}`' for c in cols)}) VALUES "
                    f"({', '.join(['%s'] * len(cols))})", values)
    conn.close()


def _time_text(v: timedelta) -> str:
    us = int(v.total_seconds() * 1_000_000) if v.days >= 0 else -int(
        (-v).total_seconds() * 1_000_000)
    sign = "-" if us < 0 else ""
    us = abs(us)
    secs, frac = divmod(us, 1_000_000)
    return f"{sign}{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:06d}"


def _select(server: MariaDB, row_id: int) -> tuple[Any, ...]:
    conn = _connect(server)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(f'`{n}`' for n in NAMES)} FROM codec.t WHERE id=%s",
                    (row_id,))
        row = cur.fetchone()
    conn.close()
    return tuple(_normalise(n, v) for n, v in zip(NAMES, row, strict=True))


def _check_round_trip(server: MariaDB, metadata: str, row: dict[str, Any],
                      counter: list[int]) -> None:
    counter[0] += 1
    row_id = counter[0]
    server.execute(f"SET GLOBAL binlog_row_metadata = '{metadata}'")
    start, _ = _master_status(server)
    _insert(server, row_id, row)
    provider = None
    if metadata == "MINIMAL":
        schema = _schema_from_information_schema(server, "codec", "t")
        provider = lambda db, table: schema if (db, table) == ("codec", "t") else None  # noqa: E731
    events = _read_rows(server, start, provider)
    assert len(events) == 1 and events[0].kind == "insert"
    got = list(events[0].rows[0])
    got[NAMES.index("f")] = f"{got[NAMES.index('f')]:.6g}"
    want = _select(server, row_id)
    for name, g, w in zip(NAMES, got, want, strict=True):
        assert g == w, f"{metadata} column {name}: binlog {g!r} != SELECT {w!r}"
        assert type(g) is type(w) or w is None, f"{name}: {type(g)} vs {type(w)}"


@pytest.mark.parametrize("metadata", ["MINIMAL", "FULL"])
def test_every_column_type_round_trips(server: MariaDB, metadata: str) -> None:
    counter = [1000 if metadata == "FULL" else 0]

    @SETTINGS
    @given(ROW)
    def check(row: dict[str, Any]) -> None:
        _check_round_trip(server, metadata, row, counter)

    check()


def test_update_delete_and_full_metadata_names(server: MariaDB) -> None:
    server.execute("SET GLOBAL binlog_row_metadata = 'FULL'",
                   "CREATE TABLE codec.u (id INT PRIMARY KEY, v VARCHAR(10), n INT UNSIGNED)")
    start, _ = _master_status(server)
    server.execute("INSERT INTO codec.u VALUES (1, 'a', 4294967295), (2, NULL, 0)",
                   "UPDATE codec.u SET v = 'b' WHERE id = 1", "DELETE FROM codec.u WHERE id = 2")
    events = _read_rows(server, start)
    assert [e.kind for e in events] == ["insert", "update", "delete"]
    assert events[0].rows == [(1, "a", 4294967295), (2, None, 0)]
    assert events[1].rows == [((1, "a", 4294967295), (1, "b", 4294967295))]
    assert events[2].rows == [(2, None, 0)]
    assert events[0].table.optional.names == ["id", "v", "n"]


def test_minimal_row_image(server: MariaDB) -> None:
    from dm.binlog.rows import ABSENT

    server.execute("SET GLOBAL binlog_row_metadata = 'FULL'",
                   "CREATE TABLE codec.m (id INT PRIMARY KEY, a INT, b VARCHAR(5))",
                   "INSERT INTO codec.m VALUES (1, 2, 'x')")
    start, _ = _master_status(server)
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION binlog_row_image = 'MINIMAL'")
        cur.execute("UPDATE codec.m SET a = 3 WHERE id = 1")
    conn.close()
    (ev,) = _read_rows(server, start)
    assert ev.rows == [((1, ABSENT, ABSENT), (ABSENT, 3, ABSENT))]
    assert ev.columns_present == [True, False, False]


def test_start_from_mariadb_gtid(server: MariaDB) -> None:
    server.execute("CREATE TABLE codec.g (id INT PRIMARY KEY)", "INSERT INTO codec.g VALUES (1)")
    _, gtid = _master_status(server)
    server.execute("INSERT INTO codec.g VALUES (2)", "INSERT INTO codec.g VALUES (3)")
    with ReplicaConnection(_config(server)) as rep:
        rep.start_at_gtid(MariaDBGTIDSet.parse(gtid), non_blocking=True)
        rows = [r for e in rep.events() if isinstance(e, RowsEvent) and e.table.table == "g"
                for r in e.rows]
    assert rows == [(2,), (3,)]


def _wait_binlog_checkpoint(server: MariaDB) -> None:
    """After a rotation MariaDB writes a Binlog_checkpoint event naming the new file once
    the old file's transactions are durable, asynchronously: wait for it, so that a binlog
    end read afterwards is not passed by it."""
    conn = server.connect()
    try:
        deadline = time_module.monotonic() + 30
        while True:
            with conn.cursor() as cur:
                cur.execute("SHOW MASTER STATUS")
                file = cur.fetchone()[0]
                cur.execute(f"SHOW BINLOG EVENTS IN '{file}'")
                if any(r[2] == "Binlog_checkpoint" and file in str(r[5])
                       for r in cur.fetchall()):
                    return
            assert time_module.monotonic() < deadline, "no Binlog_checkpoint for the new binlog"
            time_module.sleep(0.05)
    finally:
        conn.close()


def test_across_rotation(server: MariaDB) -> None:
    server.execute("CREATE TABLE codec.r (id INT PRIMARY KEY)")
    start, _ = _master_status(server)
    server.execute("INSERT INTO codec.r VALUES (1)", "FLUSH BINARY LOGS")
    _wait_binlog_checkpoint(server)
    server.execute("INSERT INTO codec.r VALUES (2)")
    end, _ = _master_status(server)
    seen: list[Event] = []
    with ReplicaConnection(_config(server)) as rep:
        rep.start_at(start, non_blocking=True)
        seen = list(rep.events())
        assert rep.location == Location(end.file, end.pos, None)
    rotations = [e.next_file for e in seen if isinstance(e, RotateEvent)]
    assert end.file in rotations and end.file != start.file
    rows = [r for e in seen if isinstance(e, RowsEvent) and e.table.table == "r" for r in e.rows]
    assert rows == [(1,), (2,)]


def _purge_to(server: MariaDB, keep: str, gone: str) -> None:
    """PURGE skips files a dump thread still reads; earlier tests' threads end shortly."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            for _ in range(100):
                cur.execute(f"PURGE BINARY LOGS TO '{keep}'")
                cur.execute("SHOW BINARY LOGS")
                if gone not in {r[0] for r in cur.fetchall()}:
                    return
                time_module.sleep(0.1)
    finally:
        conn.close()
    raise AssertionError(f"{gone} was not purged")


def test_purged_binlog_is_an_error(server: MariaDB) -> None:
    old, _ = _master_status(server)
    server.execute("FLUSH BINARY LOGS")
    current, _ = _master_status(server)
    _purge_to(server, current.file, old.file)
    with ReplicaConnection(_config(server)) as rep:
        rep.start_at(Location(old.file, 4), non_blocking=True)
        with pytest.raises(DMError) as err:
            list(rep.events())
    assert err.value.code == 36101
    assert f"{old.file}:4" in err.value.message
    with ReplicaConnection(_config(server)) as rep:
        rep.start_at_gtid(MariaDBGTIDSet.parse("0-71-999999"), non_blocking=True)
        with pytest.raises(DMError) as err:
            list(rep.events())
    assert err.value.code == 36101 and "0-71-999999" in err.value.message


def test_compressed_binlog_events(server: MariaDB) -> None:
    """MariaDB's log_bin_compress: rows and query events logged zlib-compressed."""
    from dm.binlog.events import QueryEvent
    from dm.binlog.events.codes import EventType as E

    # no column charsets in the binlog and no schema given: TEXT values stay bytes
    server.execute("SET GLOBAL binlog_row_metadata = 'NO_LOG'",
                   "SET GLOBAL log_bin_compress = ON", "SET GLOBAL log_bin_compress_min_len = 10")
    try:
        start, _ = _master_status(server)
        text = "compressible " * 40
        server.execute("CREATE TABLE codec.z (id INT PRIMARY KEY, t TEXT) /* padding for the "
                       "compression threshold */",
                       f"INSERT INTO codec.z VALUES (1, '{text}'), (2, NULL)",
                       f"UPDATE codec.z SET t = '{text[::-1]}' WHERE id = 1",
                       "DELETE FROM codec.z WHERE id = 2")
        with ReplicaConnection(_config(server)) as rep:
            rep.start_at(start, non_blocking=True)
            seen = list(rep.events())
    finally:
        server.execute("SET GLOBAL log_bin_compress = OFF")
    kinds = {e.header.type for e in seen}
    # as MariaDB 10.11 logs them (the delete of a 5-byte row stays under the threshold)
    assert {E.MARIADB_WRITE_ROWS_COMPRESSED_V1, E.MARIADB_UPDATE_ROWS_COMPRESSED_V1} <= kinds
    assert E.MARIADB_QUERY_COMPRESSED in kinds
    ddl = [e.query for e in seen if isinstance(e, QueryEvent) and "codec.z" in e.query]
    assert ddl and ddl[0].startswith("CREATE TABLE codec.z")
    rows = [(e.kind.value, e.rows) for e in seen
            if isinstance(e, RowsEvent) and e.table.table == "z"]
    assert rows == [("insert", [(1, text.encode()), (2, None)]),
                    ("update", [((1, text.encode()), (1, text[::-1].encode()))]),
                    ("delete", [(2, None)])]


OLD_TEMPORALS = [("t0", "TIME"), ("t3", "TIME(3)"), ("t6", "TIME(6)"), ("d0", "DATETIME"),
                 ("d2", "DATETIME(2)"), ("d6", "DATETIME(6)"), ("s0", "TIMESTAMP NULL"),
                 ("s4", "TIMESTAMP(4) NULL"), ("s6", "TIMESTAMP(6) NULL")]
OLD_ROWS = [
    ("-00:00:01", "00:00:00.001", "-00:00:00.000001", "1000-01-01 00:00:00",
     "2024-02-29 23:59:59.99", "9999-12-31 23:59:59.999999", "1970-01-01 00:00:01",
     "2038-01-19 03:14:07.9999", "2001-02-03 04:05:06.000007"),
    ("838:59:59", "-838:59:59.999", "-12:34:56.789012", "2024-05-06 07:08:09",
     "1999-12-31 23:59:59.01", "2000-01-01 00:00:00.000001", "2024-05-06 07:08:09",
     "2000-01-01 00:00:00.0001", "2038-01-19 03:14:07.999999"),
    (None, None, None, None, None, None, None, None, None),
]


@pytest.mark.parametrize("metadata", ["MINIMAL", "FULL"])
def test_mariadb_53_temporal_format(server: MariaDB, metadata: str) -> None:
    """TIME, DATETIME and TIMESTAMP of MariaDB 5.3's format (created under
    `mysql56_temporal_format=OFF`, as tables of servers upgraded from 5.3-10.0 are), with
    every fractional precision the format stores in other widths, negative TIMEs near zero
    among them, decode as SELECT shows them."""
    table = f"old_{metadata.lower()}"
    server.execute("SET GLOBAL mysql56_temporal_format = OFF",
                   f"CREATE TABLE codec.{table} (id INT PRIMARY KEY, "
                   + ", ".join(f"{n} {t}" for n, t in OLD_TEMPORALS) + ")",
                   "SET GLOBAL mysql56_temporal_format = ON",
                   f"SET GLOBAL binlog_row_metadata = '{metadata}'")
    names = [n for n, _ in OLD_TEMPORALS]
    start, _ = _master_status(server)
    conn = _connect(server)
    with conn.cursor() as cur:
        for i, row in enumerate(OLD_ROWS):
            cur.execute(f"INSERT INTO codec.{table} VALUES (%s, {', '.join(['%s'] * len(row))})",
                        (i, *row))
        cur.execute(f"SELECT id, {', '.join(names)} FROM codec.{table} ORDER BY id")
        want = [tuple(r) for r in cur.fetchall()]
    conn.close()
    schema = _schema_from_information_schema(server, "codec", table)
    events = _read_rows(server, start, lambda db, t: schema if t == table else None)
    got = [tuple(r) for e in events for r in e.rows]
    assert got == want
