"""The GTID-set protocol both flavours implement, and the flavour seam that picks one."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, Self


class Flavor(StrEnum):
    """Which server family wrote a binlog: decides GTID formats and dump commands."""

    MYSQL = "mysql"
    MARIADB = "mariadb"


class GTIDSet(Protocol):
    """An immutable set of executed transactions; every method returns a new set."""

    flavor: Flavor

    def contains(self, other: Self) -> bool:
        """True when every transaction of `other` is in this set."""
        ...

    def add(self, gtid: str) -> Self:
        """This set with one more transaction (`uuid:gno` or `domain-server-seq`)."""
        ...

    def union(self, other: Self) -> Self: ...

    def is_empty(self) -> bool: ...

    def __str__(self) -> str: ...
