"""Every MySQL fixture binlog, read in place and checked against what is known of it."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from oracle import oracle_rows, render
from tests.unit.binlog.conftest import FIXTURES

from dm.binlog.events import (
    EventDecoder,
    FormatDescriptionEvent,
    GtidEvent,
    IntvarEvent,
    PreviousGtidsEvent,
    QueryEvent,
    RandEvent,
    RotateEvent,
    RowsEvent,
    RowsQueryEvent,
    StopEvent,
    TableMapEvent,
    TransactionPayloadEvent,
    UnknownEvent,
    UserVarEvent,
    XidEvent,
    read_binlog_file,
)
from dm.binlog.events.columns import resolve_columns
from dm.binlog.rows.coltypes import ColumnType
from dm.errors import DMError

FOLDERS = sorted(p.name for p in FIXTURES.glob("mysql-*") if p.is_dir())


def _rows_as_text(path: Path) -> list[list[str]]:
    images = []
    for ev in read_binlog_file(path):
        if isinstance(ev, RowsEvent):
            specs = resolve_columns(ev.table, None)
            for row in ev.rows:
                for image in (row if ev.kind == "update" else (row,)):
                    images.append([render(v, s) for v, s in zip(image, specs, strict=True)])
                    images[-1].append(",".join(str(s.type) for s in specs))
    return images


def _same(want: str, got: str, types: str, i: int) -> bool:
    if want == got:
        return True
    kind = int(types.split(",")[i])
    if kind in (ColumnType.FLOAT, ColumnType.DOUBLE):
        return float(want) == pytest.approx(float(got), rel=1e-6)
    return False


@pytest.mark.parametrize("name", ["mysql-5.5.27-sakila.binlog.gz",
                                  "mysql-5.7.20-checksum-none.binlog",
                                  "mysql-5.7.21-checksum-crc32.binlog",
                                  *[f"{d}/binlog" for d in FOLDERS]])
def test_rows_match_mariadb_binlog(fixtures: Path, name: str, tmp_path: Path) -> None:
    path = fixtures / name
    want = oracle_rows(path, tmp_path)
    got = _rows_as_text(path)
    assert len(got) == len(want)
    for (verb, table, values), ours in zip(want, got, strict=True):
        types = ours.pop()
        assert len(values) == len(ours), table
        for i, (w, g) in enumerate(zip(values, ours, strict=True)):
            assert _same(w, g, types, i), f"{verb} {table} @{i + 1}: {w[:80]!r} != {g[:80]!r}"


@pytest.mark.parametrize(("name", "events", "rows"), [
    ("mysql-5.5.27-sakila.binlog.gz", 1462, 47273),
    ("mysql-5.7.20-checksum-none.binlog", 191, 38),
    ("mysql-5.7.21-checksum-crc32.binlog", 303, 86),
])
def test_event_and_row_counts(fixtures: Path, name: str, events: int, rows: int) -> None:
    count, images = 0, 0
    for ev in read_binlog_file(fixtures / name):
        count += 1
        if isinstance(ev, RowsEvent):
            images += len(ev.rows) * (2 if ev.kind == "update" else 1)
    assert (count, images) == (events, rows)


def test_sakila_has_v1_rows_and_no_checksums(fixtures: Path) -> None:
    events = list(read_binlog_file(fixtures / "mysql-5.5.27-sakila.binlog.gz"))
    fde = events[0]
    assert isinstance(fde, FormatDescriptionEvent)
    assert fde.server_version.startswith("5.5.27") and fde.checksum_alg == 0
    kinds = Counter(ev.header.type for ev in events if isinstance(ev, RowsEvent))
    assert kinds == {23: 1374}
    creates = [ev for ev in events if isinstance(ev, QueryEvent)
               and ev.query.upper().startswith("CREATE TABLE")]
    assert len(creates) == 16


def test_checksum_none_ends_with_stop(fixtures: Path) -> None:
    events = list(read_binlog_file(fixtures / "mysql-5.7.20-checksum-none.binlog"))
    assert isinstance(events[0], FormatDescriptionEvent) and events[0].checksum_alg == 0
    assert isinstance(events[1], PreviousGtidsEvent)
    assert isinstance(events[-1], StopEvent)
    assert any(isinstance(e, GtidEvent) and e.sid is None for e in events)  # anonymous


def test_crc32_file_rotates(fixtures: Path) -> None:
    events = list(read_binlog_file(fixtures / "mysql-5.7.21-checksum-crc32.binlog"))
    assert events[0].checksum_alg == 1  # type: ignore[attr-defined]
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds["RowsEvent"] == 60 and isinstance(events[-1], RotateEvent)


def test_unknown_vendor_event_is_passed_through(fixtures: Path) -> None:
    events = list(read_binlog_file(fixtures / "mysql-5.7.12-aurora-padding.binlog"))
    assert len(events) == 5
    unknown = [e for e in events if isinstance(e, UnknownEvent)]
    assert [e.header.type for e in unknown] == [100]


# The compressed fixture has no mysqlbinlog.txt; what it holds is known from its origin,
# mysql-binlog-connector-java's TransactionPayloadEventDataDeserializerTest (an independent
# decoder): QUERY BEGIN, TABLE_MAP demo.movies (11 columns), one UPDATE of movie 1 whose genre
# goes from "Western" to "Western|Action", XID 31; 451 zstd bytes, 960 uncompressed.
MOVIE = (1, "Once Upon a Time in the West", 1968, "Italy", "Western",
         "Claudia Cardinale|Charles Bronson|Henry Fonda|Gabriele Ferzetti|Frank Wolff|"
         "Al Mulock|Jason Robards|Woody Strode|Jack Elam|Lionel Stander|Paolo Stoppa|"
         "Keenan Wynn|Aldo Sambrell", "Sergio Leone", "Ennio Morricone",
         "Sergio Leone|Sergio Donati|Dario Argento|Bernardo Bertolucci",
         "Tonino Delli Colli", "Paramount Pictures")


def test_compressed_payload_expands_to_its_transaction(fixtures: Path) -> None:
    path = fixtures / "mysql-8.0.28-transaction-compression.binlog"
    assert len(list(read_binlog_file(path, expand_payloads=False))) == 5
    events = list(read_binlog_file(path))
    assert [type(e).__name__ for e in events] == [
        "FormatDescriptionEvent", "PreviousGtidsEvent", "GtidEvent", "TransactionPayloadEvent",
        "QueryEvent", "TableMapEvent", "RowsEvent", "XidEvent", "RotateEvent"]
    payload, begin, table_map, rows, xid = events[3:8]
    assert isinstance(payload, TransactionPayloadEvent)
    assert (payload.compression_name, payload.payload_size, payload.uncompressed_size) == \
        ("zstd", 451, 960)
    inner = events[4:8]
    assert sum(e.header.event_size for e in inner) == 960
    assert all(e.header.log_pos == 0 and e.header.server_id == 223344 for e in inner)
    assert isinstance(begin, QueryEvent) and begin.query == "BEGIN"
    assert isinstance(table_map, TableMapEvent) and table_map.label == "`demo`.`movies`"
    assert list(table_map.column_types) == [3, 15, 3, 15, 15, 15, 15, 15, 15, 15, 15]
    assert isinstance(rows, RowsEvent) and rows.kind == "update" and rows.table_id == 84
    after = (*MOVIE[:4], "Western|Action", *MOVIE[5:])
    assert rows.rows == [(MOVIE, after)]
    assert isinstance(xid, XidEvent) and xid.xid == 31
    assert isinstance(events[-1], RotateEvent) and events[-1].next_file == "mysql-bin.000005"


def _listed_events(folder: Path) -> list[tuple[int, int]]:
    """(position, type) of each event in mysqlbinlog.txt's hexdump."""
    text = (folder / "mysqlbinlog.txt").read_text(errors="replace")
    out = []
    for m in re.finditer(r"^# Position .*\n#\s+([0-9a-f]+) (?:\S\S ){4}\s+(\S\S)", text, re.M):
        out.append((int(m[1], 16), int(m[2], 16)))
    return out


# every folder whose mysqlbinlog.txt has a hexdump to compare positions with
HEXDUMPED = [f for f in FOLDERS if _listed_events(FIXTURES / f)]


def test_fixtures_are_there() -> None:
    assert len(FOLDERS) >= 20 and len(HEXDUMPED) >= len(FOLDERS) - 1, (FOLDERS, HEXDUMPED)


@pytest.mark.parametrize("folder", HEXDUMPED)
def test_events_match_mysqlbinlog(fixtures: Path, folder: str) -> None:
    listed = _listed_events(fixtures / folder)
    ours = [(ev.header.log_pos - ev.header.event_size, ev.header.type)
            for ev in read_binlog_file(fixtures / folder / "binlog")]
    assert ours == listed


def _events(fixtures: Path, folder: str) -> list[object]:
    return list(read_binlog_file(fixtures / folder / "binlog"))


def test_gtid_and_previous_gtids(fixtures: Path) -> None:
    events = _events(fixtures, "mysql-5.7.30-gtid_prev_gtid")
    gtids = [e.gtid for e in events if isinstance(e, GtidEvent)]
    text = (fixtures / "mysql-5.7.30-gtid_prev_gtid" / "mysqlbinlog.txt").read_text()
    listed = re.findall(r"GTID_NEXT= '([0-9a-f-]+:\d+)'", text)
    assert gtids == listed and gtids
    prev = next(e for e in events if isinstance(e, PreviousGtidsEvent))
    assert str(prev.gtid_set) in text.replace("\n", "") or prev.gtid_set.is_empty()


def test_query_event(fixtures: Path) -> None:
    events = _events(fixtures, "mysql-5.7.30-query")
    queries = [e for e in events if isinstance(e, QueryEvent)]
    statements = (fixtures / "mysql-5.7.30-query" / "statements.sql").read_text()
    for q in queries:
        assert q.query.strip().rstrip(";") in statements.replace("\n", " ") or q.query
    ddl = queries[-1]
    assert ddl.status.charset_client is not None and ddl.status.sql_mode is not None
    assert ddl.status.complete


def test_intvar_rand_user_var(fixtures: Path) -> None:
    intvar = next(e for e in _events(fixtures, "mysql-5.7.30-intvar")
                  if isinstance(e, IntvarEvent))
    text = (fixtures / "mysql-5.7.30-intvar" / "mysqlbinlog.txt").read_text()
    name = {1: "LAST_INSERT_ID", 2: "INSERT_ID"}[intvar.kind]
    assert f"SET {name}={intvar.value}/" in text
    rand = next(e for e in _events(fixtures, "mysql-5.7.30-rand") if isinstance(e, RandEvent))
    text = (fixtures / "mysql-5.7.30-rand" / "mysqlbinlog.txt").read_text()
    assert f"RAND_SEED1={rand.seed1}" in text and f"RAND_SEED2={rand.seed2}" in text
    uv = [e for e in _events(fixtures, "mysql-5.7.30-user_var") if isinstance(e, UserVarEvent)]
    text = (fixtures / "mysql-5.7.30-user_var" / "mysqlbinlog.txt").read_text()
    for e in uv:
        assert f"@`{e.name}`" in text


def test_rows_query_xid_rotate(fixtures: Path) -> None:
    events = _events(fixtures, "mysql-5.7.30-row_query")
    rq = next(e for e in events if isinstance(e, RowsQueryEvent))
    assert rq.query.lower().startswith("insert")
    assert any(isinstance(e, XidEvent) and e.xid > 0 for e in events)
    rot = events[-1]
    assert isinstance(rot, RotateEvent) and rot.position == 4 and rot.next_file


def test_mysql8_optional_metadata_and_multibyte_text(fixtures: Path) -> None:
    events = _events(fixtures, "mysql-8.0.31-query_bigger")
    rows_events = [e for e in events if isinstance(e, RowsEvent)]
    table = rows_events[0].table
    om = table.optional  # binlog_row_metadata=MINIMAL: signedness and charsets only
    assert om.names is None and om.unsigned is not None and not any(om.unsigned)
    assert om.collations is not None and om.collations[8] == 33  # utf8mb3_general_ci
    first = rows_events[1].rows[0]  # the session's multi-row INSERT
    assert first[:5] == (12345678909876, 12356789, 13789, 888878787, Decimal("99.998"))
    assert first[8:11] == ("code", "Y", date(1990, 8, 1))
    texts = [r[15] for e in rows_events if e.kind == "insert" for r in e.rows]
    assert any(isinstance(t, str) and t.startswith("使用箭头标记") for t in texts)


def _corrupt(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0xFF
    return bytes(b)


def test_checksum_mismatch_is_reported(fixtures: Path) -> None:
    data = (fixtures / "mysql-5.7.30-xid" / "binlog").read_bytes()
    dec = EventDecoder(file_name="binlog")
    fde = dec.decode(data, 4)
    second = 4 + fde.header.event_size
    bad = _corrupt(data, second + 20)
    with pytest.raises(DMError) as err:
        dec.decode(bad, second)
    assert err.value.code == 28102 and f"binlog:{second}" in err.value.message


def test_truncated_file_is_reported(fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / "mysql-5.7.30-xid" / "binlog").read_bytes()
    cut = tmp_path / "cut.000001"
    cut.write_bytes(data[:-10])
    with pytest.raises(DMError) as err:
        list(read_binlog_file(cut))
    assert err.value.code == 28104
    whole = _events(fixtures, "mysql-5.7.30-xid")
    assert len(list(read_binlog_file(cut, allow_partial=True))) == len(whole) - 1


def test_not_a_binlog(tmp_path: Path) -> None:
    p = tmp_path / "x"
    p.write_bytes(b"hello world, not a binlog")
    with pytest.raises(DMError) as err:
        list(read_binlog_file(p))
    assert err.value.code == 28103


def test_the_table_registry_stays_bounded_and_forgets_the_oldest_map(
        fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dm.binlog.events.tables as tables

    path = fixtures / "mysql-5.5.27-sakila.binlog.gz"
    events = list(read_binlog_file(path))
    assert len({e.table_id for e in events if isinstance(e, TableMapEvent)}) > 3
    monkeypatch.setattr(tables, "_MAX_MAPPED", 3)
    dec = EventDecoder()
    rows_again = [e.rows for e in read_binlog_file(path, decoder=dec)
                  if isinstance(e, RowsEvent)]
    assert len(dec.tables._tables) == 3
    assert rows_again == [e.rows for e in events if isinstance(e, RowsEvent)]
