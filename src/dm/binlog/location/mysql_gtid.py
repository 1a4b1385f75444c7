"""MySQL GTID sets: `uuid:1-5:7-9,uuid2:1-3`, kept as merged closed intervals per server UUID."""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dm.binlog.location.gtid import Flavor
from dm.errors import GTID_SET_INVALID

Interval = tuple[int, int]  # closed: (first, last)

_UUID = re.compile(r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")
_MAX_GNO = (1 << 63) - 1


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for first, last in sorted(intervals):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return tuple(out)


def _covers(mine: tuple[Interval, ...], theirs: tuple[Interval, ...]) -> bool:
    i = 0
    for first, last in theirs:
        while i < len(mine) and mine[i][1] < first:
            i += 1
        if i == len(mine) or mine[i][0] > first or mine[i][1] < last:
            return False
    return True


def _norm_uuid(text: str) -> str:
    text = text.strip()
    if not _UUID.match(text):
        raise ValueError(f"{text!r} is not a server UUID")
    return str(uuid.UUID(text))


@dataclass(frozen=True)
class MySQLGTIDSet:
    """Executed GTIDs of a MySQL server, one interval list per source UUID."""

    sets: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)
    flavor: Flavor = field(default=Flavor.MYSQL, init=False)

    @classmethod
    def parse(cls, text: str) -> MySQLGTIDSet:
        """Parse `uuid:1-5:7,uuid2:3`; whitespace and newlines (as in dump metadata) are ignored."""
        compact = "".join(text.split())
        sets: dict[str, list[Interval]] = {}
        try:
            for part in filter(None, compact.split(",")):
                sid, *ranges = part.split(":")
                if not ranges:
                    raise ValueError(f"{part!r} has no interval")
                key = _norm_uuid(sid)
                for rng in ranges:
                    first, _, last = rng.partition("-")
                    a, b = int(first), int(last or first)
                    if not 0 < a <= b <= _MAX_GNO:
                        raise ValueError(f"bad interval {rng!r}")
                    sets.setdefault(key, []).append((a, b))
        except ValueError as exc:
            raise GTID_SET_INVALID(exc, flavor="MySQL", text=text, detail=str(exc)) from exc
        return cls({k: _merge(v) for k, v in sets.items()})

    @classmethod
    def decode(cls, data: bytes) -> MySQLGTIDSet:
        """Read the binary form used by PREVIOUS_GTIDS events and COM_BINLOG_DUMP_GTID."""
        (n_sids,) = struct.unpack_from("<Q", data, 0)
        pos, sets = 8, {}
        for _ in range(n_sids):
            sid = str(uuid.UUID(bytes=bytes(data[pos:pos + 16])))
            (n,) = struct.unpack_from("<Q", data, pos + 16)
            pos += 24
            ivs = []
            for _ in range(n):
                start, stop = struct.unpack_from("<QQ", data, pos)
                ivs.append((start, stop - 1))
                pos += 16
            sets[sid] = _merge(ivs)
        return cls(sets)

    def encode(self) -> bytes:
        """The binary form (intervals half-open), for COM_BINLOG_DUMP_GTID."""
        out = [struct.pack("<Q", len(self.sets))]
        for sid in sorted(self.sets):
            ivs = self.sets[sid]
            out.append(uuid.UUID(sid).bytes + struct.pack("<Q", len(ivs)))
            out.extend(struct.pack("<QQ", a, b + 1) for a, b in ivs)
        return b"".join(out)

    def contains(self, other: MySQLGTIDSet) -> bool:
        return all(_covers(self.sets.get(sid, ()), ivs) for sid, ivs in other.sets.items())

    def add(self, gtid: str) -> MySQLGTIDSet:
        sid, sep, gno = gtid.rpartition(":")
        try:
            if not sep:
                raise ValueError("expected uuid:number")
            key, n = _norm_uuid(sid), int(gno)
        except ValueError as exc:
            raise GTID_SET_INVALID(exc, flavor="MySQL", text=gtid, detail=str(exc)) from exc
        ivs = self.sets.get(key, ())
        if ivs and ivs[-1][1] + 1 == n:  # the common case: the next transaction
            merged = (*ivs[:-1], (ivs[-1][0], n))
        else:
            merged = _merge((*ivs, (n, n)))
        return MySQLGTIDSet({**self.sets, key: merged})

    def union(self, other: MySQLGTIDSet) -> MySQLGTIDSet:
        sets = dict(self.sets)
        for sid, ivs in other.sets.items():
            sets[sid] = _merge((*sets.get(sid, ()), *ivs))
        return MySQLGTIDSet(sets)

    def is_empty(self) -> bool:
        return not self.sets

    def __str__(self) -> str:
        return ",".join(
            sid + "".join(f":{a}" if a == b else f":{a}-{b}" for a, b in self.sets[sid])
            for sid in sorted(self.sets)
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MySQLGTIDSet) and dict(self.sets) == dict(other.sets)

    def __hash__(self) -> int:
        return hash(str(self))
