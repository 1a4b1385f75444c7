"""MariaDB GTID positions: `domain-server-seq` lists, one GTID per replication domain."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from dm.binlog.location.gtid import Flavor
from dm.errors import GTID_SET_INVALID

_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class MariaDBGTID(NamedTuple):
    domain_id: int
    server_id: int
    sequence: int

    def __str__(self) -> str:
        return f"{self.domain_id}-{self.server_id}-{self.sequence}"


def parse_mariadb_gtid(text: str) -> MariaDBGTID:
    m = _GTID.match(text.strip())
    if not m:
        raise GTID_SET_INVALID(flavor="MariaDB", text=text, detail="expected domain-server-seq")
    domain, server, seq = (int(g) for g in m.groups())
    if domain >= 1 << 32 or server >= 1 << 32 or seq >= 1 << 64:
        raise GTID_SET_INVALID(flavor="MariaDB", text=text, detail="number out of range")
    return MariaDBGTID(domain, server, seq)


@dataclass(frozen=True)
class MariaDBGTIDSet:
    """The last GTID of each domain, like @@gtid_binlog_pos and @@gtid_slave_pos."""

    domains: Mapping[int, MariaDBGTID] = field(default_factory=dict)
    flavor: Flavor = field(default=Flavor.MARIADB, init=False)

    @classmethod
    def parse(cls, text: str) -> MariaDBGTIDSet:
        domains: dict[int, MariaDBGTID] = {}
        for part in filter(None, "".join(text.split()).split(",")):
            gtid = parse_mariadb_gtid(part)
            if gtid.domain_id in domains:
                raise GTID_SET_INVALID(flavor="MariaDB", text=text,
                                       detail=f"domain {gtid.domain_id} appears twice")
            domains[gtid.domain_id] = gtid
        return cls(domains)

    @classmethod
    def of(cls, gtids: list[MariaDBGTID]) -> MariaDBGTIDSet:
        """The position after `gtids` (a GTID_LIST event): each domain's last one wins."""
        return cls({g.domain_id: g for g in gtids})

    def contains(self, other: MariaDBGTIDSet) -> bool:
        for domain, theirs in other.domains.items():
            mine = self.domains.get(domain)
            if mine is None or mine.sequence < theirs.sequence:
                return False
        return True

    def add(self, gtid: str) -> MariaDBGTIDSet:
        return self.add_gtid(parse_mariadb_gtid(gtid))

    def add_gtid(self, gtid: MariaDBGTID) -> MariaDBGTIDSet:
        return MariaDBGTIDSet({**self.domains, gtid.domain_id: gtid})

    def union(self, other: MariaDBGTIDSet) -> MariaDBGTIDSet:
        domains = dict(self.domains)
        for domain, theirs in other.domains.items():
            mine = domains.get(domain)
            if mine is None or mine.sequence < theirs.sequence:
                domains[domain] = theirs
        return MariaDBGTIDSet(domains)

    def is_empty(self) -> bool:
        return not self.domains

    def __str__(self) -> str:
        return ",".join(str(self.domains[d]) for d in sorted(self.domains))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MariaDBGTIDSet) and dict(self.domains) == dict(other.domains)

    def __hash__(self) -> int:
        return hash(str(self))
