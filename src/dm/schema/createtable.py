"""CREATE TABLE (as SHOW CREATE TABLE prints it, or as a user wrote it) into a TableInfo.

`read_create_table` parses the statement once into a `CreateTable` (names with their
spans, declared charsets); `CreateTable.build` resolves it against the defaults the
caller knows (database default, server default). `parse_create_table` does both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dm.errors import SCHEMA_INVALID_CREATE_TABLE
from dm.schema import charsets
from dm.schema._cursor import Cursor, NameRef, ParseError
from dm.schema.definitions import ColumnDef, parse_column, parse_index, unique_index_name
from dm.schema.lexer import LexError, tokenize
from dm.schema.table import Index, TableInfo

_KEY_STARTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL",
               "FOREIGN", "CHECK")
SERVER_DEFAULT = charsets.Charset("utf8mb4", "utf8mb4_general_ci")
_OPTIONS_END = ("PARTITION", "AS", "SELECT", "IGNORE", "REPLACE", "WITH")


@dataclass(frozen=True)
class CreateTable:
    name: NameRef
    if_not_exists: bool = False
    like: NameRef | None = None
    columns: tuple[ColumnDef, ...] = ()
    indexes: tuple[Index, ...] = ()
    charset: str | None = None  # table options as declared
    collation: str | None = None
    references: tuple[NameRef, ...] = ()  # FOREIGN KEY ... REFERENCES tables

    def table_charset(self, inherited: charsets.Charset, flavor: str) -> charsets.Charset:
        return charsets.resolve(self.charset, self.collation, inherited, flavor)

    def build(self, schema: str, table: str, inherited: charsets.Charset,
              flavor: str = charsets.MARIADB) -> TableInfo:
        """The table's TableInfo; `inherited` is the database's default charset."""
        default = self.table_charset(inherited, flavor)
        pk = next((i for i in self.indexes if i.primary), None)
        pk_cols = {c.lower() for c in pk.columns} if pk else set()
        columns = []
        for cdef in self.columns:
            col = cdef.resolve(default, flavor)
            if col.name.lower() in pk_cols:
                col = replace(col, nullable=False)
            columns.append(col)
        return TableInfo(schema, table, tuple(columns), self.indexes,
                         default.charset, default.collation)


def parse_create_table(sql: str, *, current_db: str = "",
                       db_charset: charsets.Charset | None = None,
                       server_charset: charsets.Charset = SERVER_DEFAULT,
                       flavor: str = charsets.MARIADB, ansi_quotes: bool = False) -> TableInfo:
    """TableInfo of one CREATE TABLE statement (not the LIKE form).

    Unqualified names belong to `current_db`. Raises DMError 44009 when the text is not
    a CREATE TABLE this parser understands."""
    try:
        tokens = tokenize(sql, ansi_quotes=ansi_quotes)
        cur = Cursor(tokens)
        cur.expect("CREATE")
        cur.accept("OR", "REPLACE")
        create = read_create_table(cur, flavor)
        if create.like is not None:
            raise ParseError("CREATE TABLE ... LIKE has no columns of its own")
    except (ParseError, LexError) as exc:
        raise SCHEMA_INVALID_CREATE_TABLE(exc, sql=sql) from None
    name = create.name
    return create.build(name.schema or current_db, name.name, db_charset or server_charset,
                        flavor)


def read_create_table(cur: Cursor, flavor: str) -> CreateTable:
    """From the TABLE keyword (after CREATE [OR REPLACE]) to the end of the statement."""
    cur.expect("TABLE")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = cur.qualified()
    if cur.accept("LIKE"):
        return CreateTable(name, if_not_exists, like=cur.qualified())
    if cur.at("(", "LIKE"):
        cur.pos += 2
        like = cur.qualified()
        cur.expect(")")
        return CreateTable(name, if_not_exists, like=like)
    columns: list[ColumnDef] = []
    indexes: list[Index] = []
    refs: list[NameRef] = []
    if cur.at("("):
        _read_items(cur, flavor, columns, indexes, refs)
    charset, collation = _read_options(cur)
    return CreateTable(name, if_not_exists, None, tuple(columns),
                       _with_column_keys(columns, indexes), charset, collation, tuple(refs))


def _read_items(cur: Cursor, flavor: str, columns: list[ColumnDef], indexes: list[Index],
                refs: list[NameRef]) -> None:
    for start, end in cur.group_items():
        item = Cursor(cur.tokens, start, end)
        if item.at_any(*_KEY_STARTS) or item.at("PERIOD", "FOR"):
            idef = parse_index(item)
            if idef.index is not None:
                indexes.append(idef.index)
            if idef.references is not None:
                refs.append(idef.references)
        else:
            cdef = parse_column(item, flavor)
            if not item.done():
                item.fail("unexpected text in column definition")
            columns.append(cdef)
            if cdef.references is not None:
                refs.append(cdef.references)


def _read_options(cur: Cursor) -> tuple[str | None, str | None]:
    """Table options up to PARTITION BY / AS SELECT; only the charset ones matter."""
    charset = collation = None
    while not cur.done() and not cur.at_any(*_OPTIONS_END):
        if cur.accept("CHARACTER", "SET") or cur.accept("CHARSET"):
            cur.accept("=")
            charset = cur.charset_name()
        elif cur.accept("COLLATE"):
            cur.accept("=")
            collation = cur.charset_name()
        elif cur.at("("):
            cur.skip_group()
        else:
            cur.next()
    cur.pos = cur.end  # partitioning and AS SELECT do not change the columns we track
    return charset, collation


def _with_column_keys(columns: list[ColumnDef], indexes: list[Index]) -> tuple[Index, ...]:
    """Table-level keys plus column-level PRIMARY KEY / UNIQUE, unnamed keys named."""
    out: list[Index] = []
    for cdef in columns:
        if cdef.primary:
            out.append(Index("PRIMARY", (cdef.column.name,), True, True))
    taken = {i.name.lower() for i in indexes if i.name}
    for cdef in columns:
        if cdef.unique and not cdef.primary:
            name = unique_index_name((cdef.column.name,), taken)
            taken.add(name.lower())
            out.append(Index(name, (cdef.column.name,), True, False))
    for index in indexes:
        if not index.name:
            name = unique_index_name(index.columns, taken)
            taken.add(name.lower())
            index = replace(index, name=name)
        out.append(index)
    return tuple(sorted(out, key=lambda i: not i.primary))
