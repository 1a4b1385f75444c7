"""Pure rule logic shared by dump, load and sync: no I/O, exhaustively unit-tested."""

from dm.rules.balist import SYSTEM_SCHEMAS, BlockAllowList, is_system_schema
from dm.rules.patterns import PatternError
from dm.rules.router import TableRouter

__all__ = ["SYSTEM_SCHEMAS", "BlockAllowList", "PatternError", "TableRouter", "is_system_schema"]
