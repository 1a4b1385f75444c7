"""Row values the fixtures do not cover: MySQL binary JSON, TIME2/DATETIME2 edge cases,
ENUM/SET/BIT, minimal images, and fuzzing the decoder with hostile bytes."""

from __future__ import annotations

import struct
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from tests.shared import BINLOG_FIXTURES

from dm.binlog.events import EventDecoder, read_binlog_file
from dm.binlog.rows import ABSENT, ColumnSpec, build_rows_decoder
from dm.binlog.rows import values as v
from dm.binlog.rows.coltypes import ColumnType as T
from dm.binlog.rows.json_binary import json_text
from dm.errors import DMError


def _small_object() -> bytes:
    array = struct.pack("<HH", 2, 12) + bytes([0x04]) + struct.pack("<H", 1) \
        + bytes([0x0C]) + struct.pack("<H", 10) + b"\x01x"
    header = struct.pack("<HH", 2, 20 + len(array))
    keys = struct.pack("<HH", 18, 1) + struct.pack("<HH", 19, 1)
    vals = bytes([0x05]) + struct.pack("<h", -1) + bytes([0x02]) + struct.pack("<H", 20)
    return b"\x00" + header + keys + vals + b"ab" + array


def test_binary_json() -> None:
    assert json_text(_small_object()) == '{"a": -1, "b": [true, "x"]}'
    assert json_text(b"\x04\x00") == "null"
    assert json_text(b"\x0b" + struct.pack("<d", 1.5)) == "1.5"
    assert json_text(b"\x0c\x03a\"b") == '"a\\"b"'
    assert json_text(b"\x0a" + struct.pack("<Q", 2**64 - 1)) == str(2**64 - 1)
    assert json_text(b"") == "null"


def _time2(fsp: int, packed: int) -> bytes:
    """MySQL's TIME2 writer (C: `>>` floors, `%` and `/` truncate), for a round trip."""
    intpart = packed >> 24
    frac = (abs(packed) % (1 << 24)) * (-1 if packed < 0 else 1)
    if fsp == 0:
        return (intpart + 0x800000).to_bytes(3, "big")
    if fsp in (5, 6):
        return (packed + 0x800000000000).to_bytes(6, "big")
    scale, n = (10000, 1) if fsp <= 2 else (100, 2)
    stored = int(frac / scale) % (1 << 8 * n)
    return (intpart + 0x800000).to_bytes(3, "big") + stored.to_bytes(n, "big")


@given(st.integers(-(838 * 3600 + 3599) * 100, (838 * 3600 + 3599) * 100),
       st.sampled_from([2, 4, 6]))
def test_time2_round_trip(centis: int, fsp: int) -> None:
    sign = -1 if centis < 0 else 1
    secs, cs = divmod(abs(centis), 100)
    h, m, s = secs // 3600, secs // 60 % 60, secs % 60
    packed = sign * (((h << 12) | (m << 6) | s) << 24 | cs * 10000)
    size, read = v.time2_reader(fsp)
    data = _time2(fsp, packed)
    assert len(data) == size
    assert read(data, 0) == sign * timedelta(hours=h, minutes=m, seconds=s,
                                             microseconds=cs * 10000)


def test_zero_and_partial_dates_come_back_as_text() -> None:
    assert v.read_date(b"\x00\x00\x00", 0) == "0000-00-00"
    _, read = v.datetime2_reader(3)
    assert read(b"\x80\x00\x00\x00\x00\x00\x00", 0) == "0000-00-00 00:00:00.000"
    _, ts = v.timestamp2_reader(0)
    assert ts(b"\x00\x00\x00\x00", 0) == "0000-00-00 00:00:00"
    assert v.read_year(b"\x00", 0) == 0 and v.read_year(b"\x7b", 0) == 2023


@given(st.integers(-(10**12 - 1), 10**12 - 1))
def test_decimal_matches_text(n: int) -> None:
    size, read = v.decimal_reader(12, 4)
    value = Decimal(f"{n}E-4")
    # encode as MySQL does: groups of 9 digits, sign bit flipped, negatives inverted
    digits = f"{abs(n):012d}"
    ip, fp = digits[:8], digits[8:]
    raw = int(ip).to_bytes(4, "big")  # 8 integer digits: one partial group of 4 bytes
    raw += int(fp).to_bytes(2, "big")  # 4 fraction digits: 2 bytes
    data = bytearray(raw)
    if n < 0:
        data = bytearray(b ^ 0xFF for b in data)
    data[0] ^= 0x80
    assert len(data) == size
    assert read(bytes(data), 0) == value


def _spec(name: str, t: int, meta: int = 0, **kw: object) -> ColumnSpec:
    return ColumnSpec(name, t, meta, **kw)  # type: ignore[arg-type]


def test_generated_decoder_types_and_nulls() -> None:
    specs = [_spec("i", T.LONG, unsigned=True), _spec("m", T.INT24),
             _spec("e", T.ENUM, 1, members=("a", "b")), _spec("s", T.SET, 1,
                                                               members=("x", "y", "z")),
             _spec("b", T.BIT, 0x0104), _spec("c", T.STRING, 4, charset="binary"),
             _spec("l", T.VARCHAR, 10, charset="latin1")]
    fn = build_rows_decoder(specs, [True] * 7, None, "t")
    row1 = (b"\x00" + struct.pack("<I", 2**32 - 1) + (-5 % 2**24).to_bytes(3, "little")
            + b"\x02\x05" + b"\x00\x0c" + b"\x02ab" + b"\x03caf")
    row2 = b"\x7e" + struct.pack("<I", 7)  # all but the first column NULL
    rows = fn(row1 + row2, 0, len(row1) + len(row2))
    assert rows == [(4294967295, -5, "b", "x,z", 12, b"ab\x00\x00", "caf"),
                    (7, None, None, None, None, None, None)]


def test_minimal_update_image() -> None:
    specs = [_spec("id", T.LONG), _spec("a", T.LONG), _spec("b", T.TINY)]
    fn = build_rows_decoder(specs, [True, False, False], [False, True, True], "t")
    data = b"\x00" + struct.pack("<i", 1) + b"\x02" + struct.pack("<i", 9)
    assert fn(data, 0, len(data)) == [((1, ABSENT, ABSENT), (ABSENT, 9, None))]


@given(st.binary(max_size=400), st.integers(0, 30))
def test_fuzzed_bytes_never_escape_as_other_errors(noise: bytes, cut: int) -> None:
    data = ((BINLOG_FIXTURES / "mysql-5.7.30-write_rows_v2/binlog")
            .read_bytes())
    dec = EventDecoder(verify_checksum=False)
    pos = 4
    event = dec.decode(data, pos)
    pos += event.header.event_size
    mutated = data[:pos + cut] + noise + data[pos + cut + len(noise):]
    try:
        while pos < len(mutated):
            event = dec.decode(mutated, pos)
            getattr(event, "rows", None)
            pos += event.header.event_size
    except DMError:
        pass


def test_file_fuzz_with_checksums(tmp_path: Path) -> None:
    data = bytearray((BINLOG_FIXTURES / "mysql-5.7.30-xid/binlog").read_bytes())
    data[300] ^= 0x55
    p = tmp_path / "bad.000001"
    p.write_bytes(bytes(data))
    try:
        list(read_binlog_file(p))
    except DMError as exc:
        assert exc.code in (28102, 28101, 28104)
