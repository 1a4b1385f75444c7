"""The change list of ALTER TABLE, one `Spec` per comma-separated change.

Each spec keeps its character span (for splitting), its DM event-filter name and an
`action` the schema tracker applies. Partition maintenance is kept as one opaque spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from dm.schema._cursor import Cursor, NameRef
from dm.schema.definitions import ColumnDef, IndexDef, default_tokens, parse_column, parse_index
from dm.schema.lexer import T, Token

_INDEX_WORDS = ("INDEX", "KEY", "UNIQUE", "PRIMARY", "FULLTEXT", "SPATIAL", "CONSTRAINT",
                "FOREIGN", "CHECK")
_PARTITION_EVENTS = {
    "ADD": "add table partition", "DROP": "drop table partition",
    "TRUNCATE": "truncate table partition", "REORGANIZE": "reorganize table partition",
    "REBUILD": "rebuild table partition", "COALESCE": "coalesce table partition",
    "EXCHANGE": "exchange table partition", "ANALYZE": "alter table", "CHECK": "alter table",
    "OPTIMIZE": "alter table", "REPAIR": "alter table", "DISCARD": "alter table",
    "IMPORT": "alter table", "CONVERT": "alter table",
}
_OPTION_WORDS = frozenset({
    "ENGINE", "AUTO_INCREMENT", "AVG_ROW_LENGTH", "CHECKSUM", "TABLE_CHECKSUM", "COMMENT",
    "COMPRESSION", "CONNECTION", "DATA", "INDEX", "DELAY_KEY_WRITE", "ENCRYPTION", "ENCRYPTED",
    "ENCRYPTION_KEY_ID", "INSERT_METHOD", "KEY_BLOCK_SIZE", "MAX_ROWS", "MIN_ROWS",
    "PACK_KEYS", "PASSWORD", "ROW_FORMAT", "STATS_AUTO_RECALC", "STATS_PERSISTENT",
    "STATS_SAMPLE_PAGES", "TABLESPACE", "UNION", "PAGE_CHECKSUM", "PAGE_COMPRESSED",
    "PAGE_COMPRESSION_LEVEL", "TRANSACTIONAL", "IETF_QUOTES", "SEQUENCE", "DEFAULT",
    "CHARACTER", "CHARSET", "COLLATE", "FORCE", "ORDER", "ENABLE", "DISABLE", "DISCARD",
    "IMPORT", "WITH", "WITHOUT", "SECONDARY_ENGINE", "SECONDARY_ENGINE_ATTRIBUTE",
    "ENGINE_ATTRIBUTE", "AUTOEXTEND_SIZE", "STORAGE", "TYPE", "SECONDARY_LOAD",
    "SECONDARY_UNLOAD", "VALIDATION"})
_OPTION_EVENTS = {"ENGINE": "modify storage engine", "COMMENT": "modify table comment",
                  "AUTO_INCREMENT": "rebase auto id"}


@dataclass(frozen=True)
class Position:
    first: bool = False
    after: str | None = None


@dataclass(frozen=True)
class AddColumns:
    columns: tuple[ColumnDef, ...]
    spans: tuple[tuple[int, int], ...]  # character span of each definition
    position: Position | None = None
    if_not_exists: bool = False


@dataclass(frozen=True)
class DropColumn:
    name: str
    if_exists: bool = False


@dataclass(frozen=True)
class ChangeColumn:
    """MODIFY (old == new name) or CHANGE old new."""

    old: str
    column: ColumnDef
    position: Position | None = None
    if_exists: bool = False


@dataclass(frozen=True)
class RenameColumn:
    old: str
    new: str


@dataclass(frozen=True)
class SetDefault:
    """ALTER [COLUMN] c SET DEFAULT v (`default`: its tokens) or DROP DEFAULT (None)."""

    column: str
    default: tuple[Token, ...] | None


@dataclass(frozen=True)
class AddIndex:
    index: IndexDef


@dataclass(frozen=True)
class DropIndex:
    name: str  # "PRIMARY" for DROP PRIMARY KEY
    if_exists: bool = False


@dataclass(frozen=True)
class RenameIndex:
    old: str
    new: str


@dataclass(frozen=True)
class RenameTable:
    to: NameRef


@dataclass(frozen=True)
class SetCharset:
    """DEFAULT CHARSET / COLLATE (table default only) or CONVERT TO (every text column)."""

    charset: str | None
    collation: str | None
    convert: bool = False


@dataclass(frozen=True)
class NoChange:
    """A change that does not alter columns, keys or charsets (ENGINE, COMMENT, ...)."""


Action = (AddColumns | DropColumn | ChangeColumn | RenameColumn | SetDefault | AddIndex
          | DropIndex | RenameIndex | RenameTable | SetCharset | NoChange)


@dataclass(frozen=True)
class Spec:
    event: str
    start: int  # character span in the statement
    end: int
    action: Action
    option: bool = False  # ALGORITHM= / LOCK=: repeated on every split statement


def read_specs(cur: Cursor, flavor: str) -> list[Spec]:
    """The specs from the cursor (just after the table name) to the end of the statement."""
    specs: list[Spec] = []
    while not cur.done():
        start = cur.pos
        if _at_partitioning(cur):
            word = cur.peek()
            assert word is not None
            event = ("alter table partitioning" if cur.at("PARTITION", "BY")
                     else "remove table partitioning" if cur.at("REMOVE")
                     else _PARTITION_EVENTS.get(word.value, "alter table"))
            cur.pos = cur.end
            specs.append(_spec(cur, start, event, NoChange()))
            break
        cur.skip_to(",")
        sub = Cursor(cur.tokens, start, cur.pos)
        specs.append(_read_spec(sub, flavor))
        if not cur.accept(","):
            break
    if not specs:
        cur.fail("expected an ALTER TABLE change")
    return specs


def _at_partitioning(cur: Cursor) -> bool:
    if cur.at("PARTITION", "BY") or cur.at("REMOVE", "PARTITIONING") or \
            cur.at("UPGRADE", "PARTITIONING"):
        return True
    tok = cur.peek(1)
    return cur.at_any(*_PARTITION_EVENTS) and tok is not None and tok.value == "PARTITION"


def _spec(cur: Cursor, start: int, event: str, action: Action, option: bool = False) -> Spec:
    toks = cur.tokens
    return Spec(event, toks[start].start, toks[cur.pos - 1].end, action, option)


def _read_spec(cur: Cursor, flavor: str) -> Spec:
    start = cur.pos
    event, action, option = _dispatch(cur, flavor)
    if not cur.done():
        cur.fail("unexpected text in ALTER TABLE change")
    return _spec(cur, start, event, action, option)


def _dispatch(cur: Cursor, flavor: str) -> tuple[str, Action, bool]:
    if cur.accept("ADD"):
        return _add(cur, flavor)
    if cur.accept("DROP"):
        return _drop(cur)
    if cur.accept("MODIFY"):
        cur.accept("COLUMN")
        if_exists = cur.accept("IF", "EXISTS")
        cdef = parse_column(cur, flavor)
        return "modify column", ChangeColumn(cdef.column.name, cdef, _position(cur),
                                             if_exists), False
    if cur.accept("CHANGE"):
        cur.accept("COLUMN")
        if_exists = cur.accept("IF", "EXISTS")
        old = cur.name()
        action = _change(cur, old, flavor, if_exists)
        renamed = action.column.column.name.lower() != old.lower()
        return ("rename column" if renamed else "modify column"), action, False
    if cur.accept("RENAME"):
        return _rename(cur)
    if cur.accept("ALTER"):
        if cur.accept_any("INDEX", "KEY"):
            cur.pos = cur.end
            return "alter index visibility", NoChange(), False
        cur.accept("COLUMN")
        column = cur.name()
        if cur.accept("SET", "DEFAULT"):
            return "modify default value", SetDefault(column, tuple(default_tokens(cur))), False
        if cur.accept("DROP", "DEFAULT"):
            return "modify default value", SetDefault(column, None), False
        cur.pos = cur.end  # SET VISIBLE / INVISIBLE
        return "alter table", NoChange(), False
    if cur.accept("CONVERT", "TO"):
        if not cur.accept("CHARSET"):
            cur.expect("CHARACTER", "SET")
        charset = cur.charset_name()
        collation = cur.charset_name() if cur.accept("COLLATE") else None
        return "modify table charset and collate", SetCharset(charset, collation, True), False
    if cur.at_any("ALGORITHM", "LOCK"):
        cur.pos = cur.end
        return "alter table", NoChange(), True
    return _table_options(cur)


def _add(cur: Cursor, flavor: str) -> tuple[str, Action, bool]:
    if cur.at_any(*_INDEX_WORDS):
        primary = cur.at("PRIMARY") or (cur.at("CONSTRAINT") and _constraint_is_primary(cur))
        idef = parse_index(cur)
        if idef.index is None:
            return "alter table", AddIndex(idef), False
        return ("add primary key" if primary else "create index"), AddIndex(idef), False
    if cur.accept("PERIOD", "FOR") or cur.accept("SYSTEM", "VERSIONING"):
        cur.pos = cur.end
        return "alter table", NoChange(), False
    cur.accept("COLUMN")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    if cur.at("("):
        columns, spans = [], []
        for start, end in cur.group_items():
            item = Cursor(cur.tokens, start, end)
            columns.append(parse_column(item, flavor))
            if not item.done():
                item.fail("unexpected text in column definition")
            spans.append((cur.tokens[start].start, cur.tokens[end - 1].end))
        return "add column", AddColumns(tuple(columns), tuple(spans), None, if_not_exists), False
    begin = cur.tokens[cur.pos].start
    cdef = parse_column(cur, flavor)
    span = (begin, cur.tokens[cur.pos - 1].end)
    position = _position(cur)
    return "add column", AddColumns((cdef,), (span,), position, if_not_exists), False


def _constraint_is_primary(cur: Cursor) -> bool:
    nxt, after = cur.peek(1), cur.peek(2)
    return any(t is not None and t.value == "PRIMARY" for t in (nxt, after))


def _drop(cur: Cursor) -> tuple[str, Action, bool]:
    if cur.accept("PRIMARY", "KEY"):
        return "drop primary key", DropIndex("PRIMARY"), False
    if cur.accept_any("INDEX", "KEY"):
        if_exists = cur.accept("IF", "EXISTS")
        return "drop index", DropIndex(cur.name(), if_exists), False
    if cur.accept("FOREIGN", "KEY") or cur.accept("CHECK") or \
            cur.accept("SYSTEM", "VERSIONING") or cur.accept("PERIOD", "FOR"):
        cur.pos = cur.end
        return "alter table", NoChange(), False
    if cur.accept("CONSTRAINT"):
        cur.accept("IF", "EXISTS")  # a CHECK constraint or a UNIQUE key: drop it if it is one
        return "alter table", DropIndex(cur.name(), if_exists=True), False
    cur.accept("COLUMN")
    if_exists = cur.accept("IF", "EXISTS")
    name = cur.name()
    cur.accept_any("RESTRICT", "CASCADE")
    return "drop column", DropColumn(name, if_exists), False


def _change(cur: Cursor, old: str, flavor: str, if_exists: bool) -> ChangeColumn:
    cdef = parse_column(cur, flavor)
    return ChangeColumn(old, cdef, _position(cur), if_exists)


def _position(cur: Cursor) -> Position | None:
    if cur.accept("FIRST"):
        return Position(first=True)
    if cur.accept("AFTER"):
        return Position(after=cur.name())
    return None


def _rename(cur: Cursor) -> tuple[str, Action, bool]:
    if cur.accept("COLUMN"):
        old = cur.name()
        cur.expect("TO")
        return "rename column", RenameColumn(old, cur.name()), False
    if cur.accept_any("INDEX", "KEY"):
        old = cur.name()
        cur.expect("TO")
        return "rename index", RenameIndex(old, cur.name()), False
    cur.accept_any("TO", "AS")
    return "rename table", RenameTable(cur.qualified()), False


def _table_options(cur: Cursor) -> tuple[str, Action, bool]:
    """ENGINE=, COMMENT=, [DEFAULT] CHARSET=, COLLATE=, FORCE, ORDER BY... (space-separated)."""
    charset = collation = None
    event = ""
    if not cur.at_any(*_OPTION_WORDS):
        cur.fail("unknown ALTER TABLE change")
    while not cur.done():
        tok = cur.next()
        if (tok.is_word("CHARACTER") and cur.accept("SET")) or tok.is_word("CHARSET"):
            cur.accept("=")
            charset = cur.charset_name()
        elif tok.is_word("COLLATE"):
            cur.accept("=")
            collation = cur.charset_name()
        elif tok.kind is T.WORD and tok.value in _OPTION_EVENTS:
            event = event or _OPTION_EVENTS[tok.value]
    if charset or collation:
        return "modify table charset and collate", SetCharset(charset, collation), False
    return event or "alter table", NoChange(), False
