"""Pure rule logic shared by dump, load and sync: no I/O, exhaustively unit-tested."""

from dm.rules.balist import BlockAllowList
from dm.rules.patterns import PatternError
from dm.rules.router import TableRouter

__all__ = ["BlockAllowList", "PatternError", "TableRouter"]
