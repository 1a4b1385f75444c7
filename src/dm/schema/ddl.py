"""Query-event statements: classify (not DDL / DM's built-in skip / DDL with its event-filter
name), split multi-change DDL, and route table names into the downstream SQL.

`parse` reads a statement once; `split` and `route` work on its result and keep the
user's text except for the names they replace (always written `schema`.`table`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from dm.errors import SYNC_PARSE_DDL
from dm.schema import charsets
from dm.schema._cursor import Cursor, NameRef, ParseError
from dm.schema.alter import AddColumns, AddIndex, RenameTable, Spec, read_specs
from dm.schema.createtable import CreateTable, read_create_table
from dm.schema.definitions import key_parts
from dm.schema.lexer import LexError, T, Token, quote_name, tokenize


class Kind(StrEnum):
    NOT_DDL = "not ddl"  # BEGIN, COMMIT, SET, DML in statement format, ...
    SKIP = "skip"  # DM's built-in skips: never replicated, never tracked
    DDL = "ddl"


@dataclass(frozen=True)
class TableName:
    schema: str
    table: str = ""  # "" for database-level statements

    def quoted(self) -> str:
        if not self.table:
            return quote_name(self.schema)
        return f"{quote_name(self.schema)}.{quote_name(self.table)}"


@dataclass(frozen=True)
class CreateDatabase:
    charset: str | None = None
    collation: str | None = None
    if_not_exists: bool = False


@dataclass(frozen=True)
class AlterDatabase:
    charset: str | None = None
    collation: str | None = None


@dataclass(frozen=True)
class DropDatabase:
    if_exists: bool = False


@dataclass(frozen=True)
class DropTables:
    if_exists: bool = False


@dataclass(frozen=True)
class RenameTables:
    """tables of the DDL are (old1, new1, old2, new2, ...)."""


@dataclass(frozen=True)
class Truncate:
    pass


@dataclass(frozen=True)
class CreateIndexStmt:
    name: str
    columns: tuple[str, ...]  # (): expression key parts
    unique: bool = False
    if_not_exists: bool = False
    partial: bool = False  # prefix or expression parts


@dataclass(frozen=True)
class DropIndexStmt:
    name: str
    if_exists: bool = False


@dataclass(frozen=True)
class AlterTable:
    specs: tuple[Spec, ...]


Statement = (CreateDatabase | AlterDatabase | DropDatabase | CreateTable | DropTables
             | RenameTables | Truncate | CreateIndexStmt | DropIndexStmt | AlterTable)


@dataclass(frozen=True)
class _Ref:
    """A name occurrence to rewrite: span in the text, and what it names."""

    start: int
    end: int
    name: TableName


@dataclass(frozen=True)
class DDL:
    sql: str
    kind: Kind
    event: str = ""  # DM event-filter name of the statement ("alter table", ...)
    events: tuple[str, ...] = ()  # finer names: one per ALTER change, else (event,)
    tables: tuple[TableName, ...] = ()  # every table or database the statement names
    current_db: str = ""
    statement: Statement | None = field(default=None, compare=False)
    refs: tuple[_Ref, ...] = field(default=(), compare=False, repr=False)
    ansi_quotes: bool = field(default=False, compare=False)  # how its text reads

    @property
    def table(self) -> TableName:
        """The first (main) table."""
        return self.tables[0]


# --- classification ------------------------------------------------------------------

_NOT_DDL_SKIP_OBJECTS = ("TRIGGER", "PROCEDURE", "FUNCTION", "VIEW", "TABLESPACE", "EVENT",
                         "USER", "ROLE", "SERVER", "PACKAGE", "SEQUENCE")
_ALWAYS_SKIP = ("SAVEPOINT", "FLUSH", "OPTIMIZE", "ANALYZE", "REPAIR", "GRANT", "REVOKE")


def parse(sql: str, current_db: str = "", *, flavor: str = charsets.MARIADB,
          ansi_quotes: bool = False) -> DDL:
    """Classify one statement of a query event and, for DDL, read it.

    Raises DMError 36067 when a DDL statement is outside the understood grammar."""
    try:
        tokens = tokenize(sql, ansi_quotes=ansi_quotes)
        read = _classify(sql, tokens, current_db, flavor)
        return replace(read, ansi_quotes=True) if ansi_quotes else read
    except (ParseError, LexError) as exc:
        raise SYNC_PARSE_DDL(exc, sql=sql) from None


def _classify(sql: str, tokens: list[Token], current_db: str, flavor: str) -> DDL:
    cur = Cursor(tokens)
    if not tokens or tokens[0].kind is not T.WORD:
        return DDL(sql, Kind.NOT_DDL, current_db=current_db)
    first = tokens[0].value
    if first in _ALWAYS_SKIP or cur.at("SET", "PASSWORD") or cur.at("RENAME", "USER"):
        return DDL(sql, Kind.SKIP, current_db=current_db)
    if first not in ("CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"):
        return DDL(sql, Kind.NOT_DDL, current_db=current_db)
    cur.next()
    reader = _Reader(sql, cur, current_db, flavor)
    return reader.read(first)


class _Reader:
    """Reads one DDL statement after its first keyword, collecting name references."""

    def __init__(self, sql: str, cur: Cursor, current_db: str, flavor: str) -> None:
        self.sql, self.cur, self.current_db, self.flavor = sql, cur, current_db, flavor
        self.refs: list[_Ref] = []

    def read(self, verb: str) -> DDL:
        cur = self.cur
        if verb == "RENAME":
            return self._rename()
        if verb == "TRUNCATE":
            cur.accept("TABLE")
            self._table(cur.qualified())
            return self._done("truncate table", Truncate())
        cur.accept("OR", "REPLACE")  # CREATE OR REPLACE TABLE tracks like CREATE TABLE
        temporary = self._prefix()
        if cur.at_any(*_NOT_DDL_SKIP_OBJECTS) or temporary:
            return DDL(self.sql, Kind.SKIP, current_db=self.current_db)
        if cur.accept_any("DATABASE", "SCHEMA"):
            return self._database(verb)
        if verb == "CREATE" and cur.at("TABLE"):
            return self._create_table()
        if verb == "DROP" and cur.accept_any("TABLE", "TABLES"):
            return self._drop_tables()
        if verb == "ALTER" and cur.accept("TABLE"):
            return self._alter_table()
        if verb == "CREATE" and (cur.at("INDEX") or cur.at_any("UNIQUE", "FULLTEXT", "SPATIAL")):
            return self._create_index()
        if verb == "DROP" and cur.accept("INDEX"):
            return self._drop_index()
        cur.fail(f"unsupported {verb} statement")
        raise AssertionError("unreachable")

    def _prefix(self) -> bool:
        """Skip ALGORITHM=, DEFINER=, SQL SECURITY, AGGREGATE, ONLINE...; True if TEMPORARY."""
        cur, temporary = self.cur, False
        while True:
            if cur.accept("ALGORITHM", "="):
                cur.next()
            elif cur.accept("DEFINER", "="):
                self._user()
            elif cur.accept("SQL", "SECURITY"):
                cur.next()
            elif cur.accept("TEMPORARY"):
                temporary = True
            elif not cur.accept_any("AGGREGATE", "ONLINE", "OFFLINE", "IGNORE"):
                return temporary

    def _user(self) -> None:
        cur = self.cur
        if cur.accept("CURRENT_USER"):
            if cur.at("("):
                cur.skip_group()
            return
        cur.next()
        tok = cur.peek()
        if tok is not None and tok.kind is T.VARIABLE:
            cur.next()

    def _name(self, ref: NameRef) -> TableName:
        schema = ref.schema or self.current_db
        if not schema:
            raise ParseError(f"table {ref.name} has no database and none is selected")
        return TableName(schema, ref.name)

    def _table(self, ref: NameRef) -> TableName:
        name = self._name(ref)
        self.refs.append(_Ref(ref.start, ref.end, name))
        return name

    def _done(self, event: str, statement: Statement, events: tuple[str, ...] = ()) -> DDL:
        tables: list[TableName] = []
        for ref in self.refs:
            if ref.name not in tables or isinstance(statement, RenameTables):
                tables.append(ref.name)
        return DDL(self.sql, Kind.DDL, event, events or (event,), tuple(tables),
                   self.current_db, statement, tuple(self.refs))

    def _database(self, verb: str) -> DDL:
        cur = self.cur
        if verb == "DROP":
            if_exists = cur.accept("IF", "EXISTS")
            self._schema_ref()
            return self._done("drop database", DropDatabase(if_exists))
        if_not_exists = verb == "CREATE" and cur.accept("IF", "NOT", "EXISTS")
        if verb == "ALTER" and (cur.done() or cur.at_any("DEFAULT", "CHARACTER", "CHARSET",
                                                         "COLLATE", "COMMENT", "READ")):
            pos = cur.tokens[cur.pos - 1].end
            self.refs.append(_Ref(pos, pos, TableName(self._need_db())))
        else:
            self._schema_ref()
        charset = collation = None
        while not cur.done():
            if cur.accept("CHARACTER", "SET") or cur.accept("CHARSET"):
                cur.accept("=")
                charset = cur.charset_name()
            elif cur.accept("COLLATE"):
                cur.accept("=")
                collation = cur.charset_name()
            else:
                cur.next()
        if verb == "CREATE":
            return self._done("create database", CreateDatabase(charset, collation,
                                                                if_not_exists))
        return self._done("alter database", AlterDatabase(charset, collation))

    def _need_db(self) -> str:
        if not self.current_db:
            raise ParseError("no database is selected")
        return self.current_db

    def _schema_ref(self) -> None:
        tok = self.cur.peek()
        name = self.cur.name()
        assert tok is not None
        self.refs.append(_Ref(tok.start, tok.end, TableName(name)))

    def _create_table(self) -> DDL:
        create = read_create_table(self.cur, self.flavor)
        self._table(create.name)
        if create.like is not None:
            self._table(create.like)
        for ref in create.references:
            self._table(ref)
        return self._done("create table", create)

    def _drop_tables(self) -> DDL:
        cur = self.cur
        if_exists = cur.accept("IF", "EXISTS")
        while True:
            self._table(cur.qualified())
            if not cur.accept(","):
                break
        cur.accept_any("RESTRICT", "CASCADE")
        self._wait()
        return self._expect_end(self._done("drop table", DropTables(if_exists)))

    def _rename(self) -> DDL:
        cur = self.cur
        if not cur.accept("TABLE"):
            cur.expect("TABLES")
        cur.accept("IF", "EXISTS")
        while True:
            self._table(cur.qualified())
            self._wait()
            cur.expect("TO")
            self._table(cur.qualified())
            if not cur.accept(","):
                break
        return self._expect_end(self._done("rename table", RenameTables()))

    def _wait(self) -> None:
        if self.cur.accept("WAIT"):
            self.cur.next()
        else:
            self.cur.accept("NOWAIT")

    def _alter_table(self) -> DDL:
        cur = self.cur
        cur.accept("IF", "EXISTS")
        self._table(cur.qualified())
        self._wait()
        specs = read_specs(cur, self.flavor)
        for spec in specs:
            if isinstance(spec.action, RenameTable):
                self._table(spec.action.to)
            elif isinstance(spec.action, AddIndex) and spec.action.index.references:
                self._table(spec.action.index.references)
        changes = [s.event for s in specs if not s.option]
        return self._done("alter table", AlterTable(tuple(specs)), tuple(changes))

    def _create_index(self) -> DDL:
        cur = self.cur
        unique = cur.accept("UNIQUE")
        cur.accept_any("FULLTEXT", "SPATIAL")
        cur.expect("INDEX")
        if_not_exists = cur.accept("IF", "NOT", "EXISTS")
        name = cur.name()
        if cur.accept("USING") or cur.accept("TYPE"):
            cur.next()
        cur.expect("ON")
        self._table(cur.qualified())
        columns, partial = key_parts(cur)
        cur.pos = cur.end  # index options, ALGORITHM=, LOCK=
        return self._done("create index", CreateIndexStmt(name, columns, unique, if_not_exists,
                                                          partial))

    def _drop_index(self) -> DDL:
        cur = self.cur
        if_exists = cur.accept("IF", "EXISTS")
        name = cur.name()
        cur.expect("ON")
        self._table(cur.qualified())
        cur.pos = cur.end
        return self._done("drop index", DropIndexStmt(name, if_exists))

    def _expect_end(self, ddl: DDL) -> DDL:
        if not self.cur.done():
            self.cur.fail("unexpected text")
        return ddl


# --- split -----------------------------------------------------------------------------

def split(ddl: DDL) -> list[DDL]:
    """One statement per table for DROP TABLE and RENAME TABLE, one per change for ALTER
    TABLE (`ADD COLUMN (a, b)` becomes two); names come out fully qualified."""
    st = ddl.statement
    if isinstance(st, DropTables) and len(ddl.tables) > 1:
        texts = [f"DROP TABLE IF EXISTS {t.quoted()}" for t in ddl.tables]
    elif isinstance(st, RenameTables) and len(ddl.refs) > 2:
        pairs = zip(ddl.refs[::2], ddl.refs[1::2], strict=True)
        texts = [f"RENAME TABLE {a.name.quoted()} TO {b.name.quoted()}" for a, b in pairs]
    elif (isinstance(st, AlterTable) and len([s for s in st.specs if not s.option]) > 1) or \
            (isinstance(st, AlterTable) and _multi_add(st)):
        assert isinstance(st, AlterTable)
        texts = _split_alter(ddl, st)
    else:
        return [ddl]
    return [parse(text, ddl.current_db, ansi_quotes=ddl.ansi_quotes) for text in texts]


def _multi_add(st: AlterTable) -> bool:
    return any(isinstance(s.action, AddColumns) and len(s.action.columns) > 1
               for s in st.specs)


def _split_alter(ddl: DDL, st: AlterTable) -> list[str]:
    head = f"ALTER TABLE {ddl.table.quoted()} "
    options = "".join(", " + ddl.sql[s.start:s.end] for s in st.specs if s.option)
    changes = [s for s in st.specs if not s.option]
    changes.sort(key=lambda s: isinstance(s.action, RenameTable))  # rename last, as MySQL
    texts = []
    for spec in changes:
        action = spec.action
        if isinstance(action, AddColumns) and len(action.columns) > 1:
            texts += [f"{head}ADD COLUMN {ddl.sql[a:b]}{options}" for a, b in action.spans]
        else:
            texts.append(head + ddl.sql[spec.start:spec.end] + options)
    return texts


# --- route -----------------------------------------------------------------------------

Router = Callable[[str, str], tuple[str, str]]


def route(ddl: DDL, router: Router | None = None) -> str:
    """The statement with every table (and database) name replaced by `router(schema,
    table)` (identity when None), fully qualified and backtick-quoted."""
    if ddl.kind is not Kind.DDL:
        return ddl.sql
    out = ddl.sql
    for ref in sorted(ddl.refs, key=lambda r: r.start, reverse=True):
        schema, table = router(ref.name.schema, ref.name.table) if router else (
            ref.name.schema, ref.name.table)
        text = TableName(schema, table if ref.name.table else "").quoted()
        if ref.start == ref.end:
            text = f" {text}"
        out = out[:ref.start] + text + out[ref.end:]
    return out


def signature(sql: str) -> str:
    """The statement as shard DDLs are compared (DM compares them parsed): tokens one space
    apart, words and names in one case, the optional COLUMN of ADD/DROP/CHANGE/MODIFY
    dropped; literals as written. Text the lexer cannot read compares as written."""
    try:
        tokens = tokenize(sql)
    except LexError:
        return sql
    out: list[str] = []
    for tok in tokens:
        if tok.is_word("COLUMN") and out and out[-1] in _BEFORE_COLUMN:
            continue
        if tok.kind in (T.WORD, T.QUOTED):
            out.append(tok.value.upper())
        elif tok.kind is T.STRING:
            out.append(repr(tok.value))
        else:
            out.append(tok.text)
    return " ".join(out).rstrip(" ;")


_BEFORE_COLUMN = frozenset({"ADD", "DROP", "CHANGE", "MODIFY", "ALTER"})


# --- downstream errors DM tolerates -------------------------------------------------------

ER_DB_CREATE_EXISTS, ER_DB_DROP_EXISTS = 1007, 1008
ER_TABLE_EXISTS, ER_BAD_TABLE = 1050, 1051
ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_CANT_DROP_FIELD_OR_KEY = 1060, 1061, 1091
ER_SAME_NAME_PARTITION = 1517

_TOLERATED: dict[int, frozenset[str]] = {
    ER_DB_CREATE_EXISTS: frozenset({"create database"}),
    ER_DB_DROP_EXISTS: frozenset({"drop database"}),
    ER_TABLE_EXISTS: frozenset({"create table"}),
    ER_BAD_TABLE: frozenset({"drop table"}),
    ER_DUP_FIELDNAME: frozenset({"alter table", "add column"}),
    ER_DUP_KEYNAME: frozenset({"alter table", "create index", "add primary key"}),
    ER_CANT_DROP_FIELD_OR_KEY: frozenset({"alter table", "drop column", "drop index",
                                          "drop primary key"}),
    ER_SAME_NAME_PARTITION: frozenset({"alter table"}),  # ADD PARTITION
}


def is_tolerated(errno: int, ddl_kind: str) -> bool:
    """True if executing a DDL of this event name downstream may fail with `errno` and
    replication still go on: the change is already there (a replayed DDL)."""
    return ddl_kind in _TOLERATED.get(errno, frozenset())
