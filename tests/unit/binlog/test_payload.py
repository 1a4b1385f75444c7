"""TRANSACTION_PAYLOAD events built by hand: zstd and uncompressed payloads, streamed
decompression across chunk boundaries, and the coded errors for damaged payloads."""

from __future__ import annotations

import contextlib
import struct
import zlib

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from dm.binlog.events import EventDecoder, QueryEvent, TransactionPayloadEvent, XidEvent
from dm.binlog.events import payload as payload_module
from dm.binlog.events.base import EventHeader
from dm.binlog.events.payload import COMPRESSION_NONE, COMPRESSION_ZSTD, inner_events
from dm.errors import DMError


def _event(kind: int, body: bytes, log_pos: int = 0) -> bytes:
    return struct.pack("<IBIIIH", 1700000000, kind, 7, 19 + len(body), log_pos, 0) + body


def _query(sql: str) -> bytes:
    status = b""
    body = struct.pack("<IIBHH", 1, 0, 2, 0, len(status)) + status + b"db\x00" + sql.encode()
    return _event(2, body)


def _xid(n: int) -> bytes:
    return _event(16, struct.pack("<Q", n))


def _field(kind: int, value: int) -> bytes:
    """One payload header field: type, length, value, each a length-encoded integer."""
    packed = bytes([value]) if value < 0xFB else b"\xfe" + value.to_bytes(8, "little")
    return bytes([kind]) + bytes([len(packed)]) + packed


def _payload_event(inner: bytes, compression: int = COMPRESSION_ZSTD, *,
                   size: int | None = None, data: bytes | None = None) -> bytes:
    if data is None:
        data = zstandard.ZstdCompressor().compress(inner) if compression == COMPRESSION_ZSTD \
            else inner
    fields = (_field(1, len(data)) + _field(2, compression)
              + _field(3, len(inner) if size is None else size) + b"\x00")
    body = fields + data
    head = struct.pack("<IBIIIH", 1700000000, 40, 7, 19 + len(body) + 4, 1000, 0)
    return head + body + struct.pack("<I", zlib.crc32(head + body))  # the outer event's CRC


TRANSACTION = [_query("BEGIN"), _query("INSERT INTO t VALUES (1)"), _xid(42)]


def _expand(raw: bytes) -> list[object]:
    dec = EventDecoder(checksum=True, verify_checksum=True, file_name="binlog.000001")
    event = dec.decode(raw)
    assert isinstance(event, TransactionPayloadEvent)
    out: list[object] = list(dec.expand(event))
    assert dec._crc  # checksums are back on for the events after the payload
    return out


@pytest.mark.parametrize("compression", [COMPRESSION_ZSTD, COMPRESSION_NONE])
def test_payload_expands_to_its_events(compression: int) -> None:
    inner = b"".join(TRANSACTION)
    events = _expand(_payload_event(inner, compression))
    assert [type(e) for e in events] == [QueryEvent, QueryEvent, XidEvent]
    assert [e.query for e in events[:2]] == ["BEGIN", "INSERT INTO t VALUES (1)"]  # type: ignore[attr-defined]
    assert events[2].xid == 42  # type: ignore[attr-defined]


def test_events_straddling_decompression_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payload_module, "_CHUNK", 7)
    inner = b"".join([_query("BEGIN"), *(_query(f"SELECT {'x' * i}") for i in range(40)),
                      _xid(9)])
    events = _expand(_payload_event(inner))
    assert len(events) == 42
    assert events[-2].query == "SELECT " + "x" * 39  # type: ignore[attr-defined]


def _decode_error(raw: bytes) -> DMError:
    with pytest.raises(DMError) as err:
        _expand(raw)
    return err.value


def test_unknown_compression_is_coded() -> None:
    err = _decode_error(_payload_event(b"".join(TRANSACTION), 3, data=b"\x01\x02"))
    assert err.code == 28105 and "type 3" in err.message and "binlog.000001:" in err.message


@pytest.mark.parametrize(("change", "needle"), [
    ({"size": 10}, "more than the 10 bytes"),  # header says less than the data holds
    ({"size": 5000}, "the header announces 5000"),  # says more
    ({"data": b"not zstd at all"}, "zstd"),
])
def test_damaged_payloads_are_coded(change: dict[str, object], needle: str) -> None:
    err = _decode_error(_payload_event(b"".join(TRANSACTION), **change))  # type: ignore[arg-type]
    assert err.code == 28101 and needle in err.message
    assert "TRANSACTION_PAYLOAD" in err.message and "binlog.000001:" in err.message


def test_a_cut_off_inner_event_is_coded() -> None:
    inner = b"".join(TRANSACTION)[:-3]
    err = _decode_error(_payload_event(inner))
    assert err.code == 28101 and "cut off" in err.message


def test_truncated_zstd_stream_is_coded() -> None:
    inner = b"".join(TRANSACTION)
    data = zstandard.ZstdCompressor().compress(inner)[:-6]
    err = _decode_error(_payload_event(inner, data=data))
    assert err.code == 28101


def test_output_is_read_in_bounded_chunks() -> None:
    """A payload whose header announces 100 bytes never makes the decompressor produce
    much more than that, however much the frame would expand to."""
    bomb = zstandard.ZstdCompressor().compress(b"\x00" * (16 << 20))
    header = EventHeader(0, 40, 1, 0, 0, 0)
    event = TransactionPayloadEvent(header, COMPRESSION_ZSTD, len(bomb), 100, bomb)
    with pytest.raises(ValueError, match="more than the 100 bytes"):
        list(inner_events(event))


@given(st.binary(max_size=200))
def test_fuzzed_payloads_only_raise_coded_errors(noise: bytes) -> None:
    for compression in (COMPRESSION_ZSTD, COMPRESSION_NONE):
        with contextlib.suppress(DMError):
            _expand(_payload_event(noise, compression, data=noise))

