"""Little helpers for reading the binlog's integer and string encodings."""

from __future__ import annotations

import struct

U16 = struct.Struct("<H").unpack_from
U32 = struct.Struct("<I").unpack_from
U64 = struct.Struct("<Q").unpack_from


def packed_int(buf: bytes, pos: int) -> tuple[int, int]:
    """A length-encoded integer at `pos`: (value, position after it)."""
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        return buf[pos + 1] | buf[pos + 2] << 8, pos + 3
    if first == 0xFD:
        return int.from_bytes(buf[pos + 1:pos + 4], "little"), pos + 4
    if first == 0xFE:
        return U64(buf, pos + 1)[0], pos + 9
    raise ValueError(f"bad length-encoded integer prefix 0x{first:02x} at {pos}")


def packed_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    """A length-encoded string at `pos`: (bytes, position after it)."""
    n, pos = packed_int(buf, pos)
    if pos + n > len(buf):
        raise ValueError(f"string of {n} bytes at {pos} runs past the event")
    return bytes(buf[pos:pos + n]), pos + n


def bits_msb_first(data: bytes, count: int) -> list[bool]:
    """`count` flags from a bitmap whose bytes list their flags high bit first (TABLE_MAP)."""
    return [bool(data[i >> 3] & (0x80 >> (i & 7))) for i in range(count)]


def bits_lsb_first(data: bytes, count: int) -> list[bool]:
    """`count` flags from a bitmap whose bytes list their flags low bit first (rows events)."""
    return [bool(data[i >> 3] & (1 << (i & 7))) for i in range(count)]
