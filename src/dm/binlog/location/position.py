"""Location: a binlog file and position plus the GTID set executed up to it."""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Any, Final

from dm.binlog.location.gtid import Flavor
from dm.binlog.location.mariadb_gtid import MariaDBGTIDSet
from dm.binlog.location.mysql_gtid import MySQLGTIDSet
from dm.errors import BINLOG_LOCATION_INVALID, GTID_SET_INVALID, DMError

AnyGTIDSet = MySQLGTIDSet | MariaDBGTIDSet

FILE_HEADER_END = 4  # first event offset: after the 4-byte magic

_MARIADB_LIST = re.compile(r"^\d+-\d+-\d+(,\d+-\d+-\d+)*$")


def detect_flavor(text: str) -> Flavor | None:
    """Which flavour a GTID text is written in; None for an empty text."""
    compact = "".join(text.split())
    if not compact:
        return None
    if _MARIADB_LIST.match(compact):
        return Flavor.MARIADB
    if ":" in compact:
        return Flavor.MYSQL
    raise GTID_SET_INVALID(flavor="any", text=text, detail="neither a MySQL nor a MariaDB GTID set")


def parse_gtid_set(text: str, flavor: Flavor | None = None) -> AnyGTIDSet:
    """Parse a GTID set, detecting the flavour unless one is given (an empty text needs one)."""
    flavor = flavor or detect_flavor(text)
    if flavor is None:
        raise GTID_SET_INVALID(flavor="any", text=text, detail="empty set with unknown flavour")
    if flavor is Flavor.MARIADB:
        return MariaDBGTIDSet.parse(text)
    return MySQLGTIDSet.parse(text)


def empty_gtid_set(flavor: Flavor) -> AnyGTIDSet:
    return MariaDBGTIDSet() if flavor is Flavor.MARIADB else MySQLGTIDSet()


def gtid_text(at: Location | None) -> str:
    """A location's GTID set as text, "" when it has none (or there is no location)."""
    return "" if at is None or at.gtid_set is None else str(at.gtid_set)


def file_key(name: str) -> tuple[str, int]:
    """Sort key of a binlog file name: its base name, then its numeric suffix."""
    base, _, suffix = name.rpartition(".")
    return (base, int(suffix)) if suffix.isdigit() else (name, -1)


@total_ordering
class Location:
    """Where replication stands. Ordered as `compare_locations(..., by_gtid=True)`: by GTID
    sets where both have one (positions of two servers, after the upstream switched to a
    replica, mean nothing to each other), else by file then position. Never changed (its
    fields are Final to mypy); a class with slots rather than a frozen dataclass, which
    costs three times as much to make, and one is made per rows event."""

    __slots__ = ("file", "gtid_set", "pos")

    def __init__(self, file: str, pos: int, gtid_set: AnyGTIDSet | None = None) -> None:
        self.file: Final = file
        self.pos: Final = pos
        self.gtid_set: Final = gtid_set

    def __repr__(self) -> str:
        return f"Location(file={self.file!r}, pos={self.pos!r}, gtid_set={self.gtid_set!r})"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Location):
            return NotImplemented
        return compare_locations(self, other, by_gtid=True) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Location):
            return NotImplemented
        return (self.file, self.pos, self.gtid_set) == (other.file, other.pos, other.gtid_set)

    def __hash__(self) -> int:
        return hash((self.file, self.pos, self.gtid_set))

    def short(self) -> str:
        """`mysql-bin.000003:1234`, for messages and logs."""
        return f"{self.file}:{self.pos}"

    def __str__(self) -> str:
        """DM's own rendering, also accepted by `parse_location`."""
        return f"position: ({self.file}, {self.pos}), gtid-set: {gtid_text(self)}"

    def with_gtid(self, gtid: str) -> Location:
        """This location with one more executed GTID added to its set."""
        if self.gtid_set is None:
            raise GTID_SET_INVALID(flavor="any", text=gtid, detail="location has no GTID set")
        return Location(self.file, self.pos, self.gtid_set.add(gtid))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"binlog-name": self.file, "binlog-pos": self.pos}
        if self.gtid_set is not None:
            d["binlog-gtid"] = str(self.gtid_set)
            d["flavor"] = str(self.gtid_set.flavor)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Location:
        gtid = d.get("binlog-gtid")
        flavor = Flavor(d["flavor"]) if d.get("flavor") else None
        gset = None if gtid is None else parse_gtid_set(gtid, flavor)
        return cls(str(d["binlog-name"]), int(d["binlog-pos"]), gset)


def gtid_set_order(a: AnyGTIDSet, b: AnyGTIDSet) -> int | None:
    """-1, 0 or 1 as `a` is before, equal to or past `b`; None: neither holds the other."""
    if type(a) is not type(b):
        return None
    ab, ba = a.contains(b), b.contains(a)  # type: ignore[arg-type]
    if ab and ba:
        return 0
    if ab:
        return 1
    return -1 if ba else None


def holds_gtid(gtid_set: AnyGTIDSet, gtid: str) -> bool | None:
    """Whether `gtid` (as text) is in the set; None: not a GTID of the set's flavour."""
    try:
        one = empty_gtid_set(gtid_set.flavor).add(gtid)
    except DMError:
        return None
    return gtid_set.contains(one)  # type: ignore[arg-type]


def compare_locations(a: Location, b: Location, *, by_gtid: bool) -> int:
    """-1, 0 or 1. With `by_gtid`, GTID sets decide when they are comparable: equal sets are
    the same point of the history (as DM's CompareLocation), whatever server each position
    is of. Otherwise file and position do, and inside one transaction (its locations
    share one set object)."""
    if by_gtid and a.gtid_set is not None and b.gtid_set is not None and \
            a.gtid_set is not b.gtid_set:
        order = gtid_set_order(a.gtid_set, b.gtid_set)
        if order is not None:
            return order
    ka, kb = (file_key(a.file), a.pos), (file_key(b.file), b.pos)
    return (ka > kb) - (ka < kb)


_COLON = re.compile(r"^(?P<file>[^\s:()]+):(?P<pos>\d+)$")
_PAREN = re.compile(r"^\(\s*(?P<file>[^\s,()]+)\s*,\s*(?P<pos>\d+)\s*\)$")
_DM = re.compile(r"^position:\s*(?P<p>\([^)]*\))\s*,\s*gtid-set:\s*(?P<gtid>.*)$", re.S)


def parse_location(text: str, flavor: Flavor | None = None) -> Location:
    """Parse `file:pos`, `(file, pos)` or DM's `position: (file, pos), gtid-set: ...`."""
    s = text.strip()
    gtid: AnyGTIDSet | None = None
    m = _DM.match(s)
    if m:
        s = m["p"]
        gtext = m["gtid"].strip()
        if gtext or flavor:
            gtid = parse_gtid_set(gtext, flavor)
    m = _COLON.match(s) or _PAREN.match(s)
    if not m:
        raise BINLOG_LOCATION_INVALID(text=text, detail="expected binlog-name:position")
    return Location(m["file"], int(m["pos"]), gtid)
