"""Frames between the syncer and its reader: marshal for plain values, pickle for the rest."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from enum import StrEnum

from dm.sync.frames import read_frame, write_frame


class _Kind(StrEnum):
    INSERT = "insert"


def _round_trip(*objs: object) -> list[object]:
    pipe = io.BytesIO()
    for obj in objs:
        write_frame(pipe, obj)
    pipe.seek(0)
    got = []
    while (obj := read_frame(pipe)) is not None:
        got.append(obj)
    return got


def test_plain_and_rich_values_come_back_equal_and_of_their_type() -> None:
    plain = (7, [(0, 4, 1700000000, "db", "t", "update", [((1, "a", None, b"\x00"),
                                                              (1, "é", 1.5, b""))], 9, None)])
    rich = (1, [(0, 4, 0, "db", "t", "insert", [(Decimal("1.10"),
                                                 datetime.datetime(2020, 1, 2, 3, 4, 5))],
                 9, "0-1-2")])
    got = _round_trip(plain, rich, (0, [(_Kind.INSERT,)]), frozenset({"a"}))
    assert got == [plain, rich, (0, [(_Kind.INSERT,)]), frozenset({"a"})]
    assert type(got[1][1][0][6][0][0]) is Decimal  # type: ignore[index]
    assert type(got[2][1][0][0]) is _Kind  # type: ignore[index]  # a str subclass stays one


def test_a_frame_cut_short_reads_as_the_end() -> None:
    pipe = io.BytesIO()
    write_frame(pipe, (1, ["x" * 100]))
    data = pipe.getvalue()
    assert read_frame(io.BytesIO(data[:-1])) is None
    assert read_frame(io.BytesIO(data[:5])) is None
