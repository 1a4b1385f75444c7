"""Column and index definitions as CREATE TABLE and ALTER TABLE write them.

`parse_column` reads `name type [attributes]` into a `ColumnDef` whose charset is still
as declared; `ColumnDef.resolve` turns it into a `Column` against the table's defaults.
`parse_index` reads the table-level key clauses. Both work on a bounded `Cursor`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dm.schema import charsets
from dm.schema._cursor import Cursor, NameRef, ParseError
from dm.schema.expressions import canonical_default, canonical_expression
from dm.schema.lexer import T, Token
from dm.schema.table import Column, Index

_SYNONYMS = {
    "INTEGER": "int", "INT1": "tinyint", "INT2": "smallint", "INT3": "mediumint",
    "INT4": "int", "INT8": "bigint", "MIDDLEINT": "mediumint", "BOOL": "tinyint",
    "BOOLEAN": "tinyint", "DEC": "decimal", "NUMERIC": "decimal", "FIXED": "decimal",
    "REAL": "double", "FLOAT4": "float", "FLOAT8": "double", "CHARACTER": "char",
    "NCHAR": "char", "NVARCHAR": "varchar", "VARCHARACTER": "varchar", "LONG": "mediumtext",
}
STRING_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
                          "enum", "set"})
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob",
                          "longblob"})
_TO_BINARY = {"char": "binary", "varchar": "varbinary", "tinytext": "tinyblob",
              "text": "blob", "mediumtext": "mediumblob", "longtext": "longblob"}
_INT_WIDTH = {"tinyint": 4, "smallint": 6, "mediumint": 9, "int": 11, "bigint": 20}
_ONE_ARG = {"bit": "(1)", "char": "(1)", "binary": "(1)", "year": "(4)",
            "decimal": "(10,0)"}


@dataclass(frozen=True)
class ColumnDef:
    """One column definition before its charset is resolved against the table's."""

    column: Column  # charset/collation: as declared (None when not declared)
    binary_collation: bool = False  # the `BINARY` attribute of a string type
    primary: bool = False  # column-level PRIMARY KEY
    unique: bool = False  # column-level UNIQUE
    references: NameRef | None = None  # column-level REFERENCES table
    text_length: int | None = None  # TEXT(n): the server picks the smallest TEXT type

    def resolve(self, table: charsets.Charset, flavor: str) -> Column:
        col = self.column
        if self.text_length is not None:
            cs = charsets.resolve(col.charset, col.collation, table, flavor)
            sized = _sized("text", self.text_length * charsets.maxlen(cs.charset))
            col = replace(col, type_name=sized, column_type=sized)
        if col.type_name in BINARY_TYPES:
            return replace(col, charset="binary", collation="binary")
        if col.type_name not in STRING_TYPES:
            return replace(col, charset=None, collation=None)
        cs = charsets.resolve(col.charset, col.collation, table, flavor,
                              binary_collation=self.binary_collation)
        if cs.charset == "binary" and col.type_name in _TO_BINARY:
            binary = _TO_BINARY[col.type_name]
            return replace(col, type_name=binary, charset="binary", collation="binary",
                           column_type=binary + col.column_type[len(col.type_name):])
        return replace(col, charset=cs.charset, collation=cs.collation)


@dataclass(frozen=True)
class IndexDef:
    index: Index | None  # None for constraints that are not indexes (CHECK, FOREIGN KEY)
    references: NameRef | None = None  # FOREIGN KEY ... REFERENCES table
    if_not_exists: bool = False


def parse_column(cur: Cursor, flavor: str) -> ColumnDef:
    """`name type [attributes]`, stopping at the end of the cursor or at FIRST/AFTER."""
    name = cur.name()
    type_name, args, word = _type(cur)
    members = _members(cur) if type_name in ("enum", "set") else ()
    attrs = _Attrs()
    if word in ("NATIONAL", "NCHAR", "NVARCHAR"):
        attrs.charset = "utf8mb3"
    if word == "SERIAL":
        attrs.unsigned = attrs.not_null = attrs.unique = True
    attrs.read(cur)
    if type_name == "json" and flavor == charsets.MARIADB:
        type_name, args = "longtext", ""
        attrs.charset, attrs.collation = "utf8mb4", "utf8mb4_bin"
    text_length = None
    if type_name in ("text", "blob") and args:
        length = int(args.strip("()"))
        if type_name == "text":
            text_length, args = length, ""
        else:
            type_name, args = _sized("blob", length), ""
    if type_name == "float" and args and "," not in args:
        type_name, args = ("float" if int(args.strip("()")) <= 24 else "double"), ""
    if not args and type_name in _ONE_ARG:
        args = _ONE_ARG[type_name]
    if not args and type_name in _INT_WIDTH and flavor == charsets.MARIADB:
        args = f"({_INT_WIDTH[type_name] - (attrs.unsigned and type_name != 'bigint')})"
    column_type = type_name + args + " unsigned" * attrs.unsigned + " zerofill" * attrs.zerofill
    col = Column(name=name, type_name=type_name, column_type=column_type,
                 unsigned=attrs.unsigned, nullable=not attrs.not_null,
                 charset=attrs.charset, collation=attrs.collation,
                 generated=attrs.generated,
                 enum_values=members if type_name == "enum" else (),
                 set_values=members if type_name == "set" else (),
                 default=None if attrs.default is None else canonical_default(
                     attrs.default, type_name),
                 expression=None if attrs.expression is None else canonical_expression(
                     attrs.expression))
    return ColumnDef(col, attrs.binary, attrs.primary, attrs.unique, attrs.references,
                     text_length)


def _sized(kind: str, length: int) -> str:
    """The smallest TEXT or BLOB type holding `length` bytes, as TEXT(n) / BLOB(n) give."""
    for prefix, size in (("tiny", 255), ("", 65535), ("medium", 16777215)):
        if length <= size:
            return prefix + kind
    return "long" + kind


def _type(cur: Cursor) -> tuple[str, str, str]:
    """(lower-case type name, argument text such as "(10,2)", first type word)."""
    tok = cur.next()
    if tok.kind is not T.WORD:
        cur.pos -= 1
        cur.fail("expected a column type")
    first = word = tok.value
    if word == "NATIONAL":
        word = cur.next().value
    if word == "DOUBLE":
        cur.accept("PRECISION")
    elif word in ("CHAR", "CHARACTER", "NCHAR") and cur.accept("VARYING"):
        word = "VARCHAR"
    elif word == "LONG":
        if cur.accept("VARBINARY"):
            word = "MEDIUMBLOB"
        else:
            cur.accept("VARCHAR")
    type_name = _SYNONYMS.get(word, word.lower())
    if word == "SERIAL":
        type_name = "bigint"
    args = ""
    if cur.at("("):
        start = cur.pos
        cur.skip_group()
        args = "".join(t.text for t in cur.tokens[start:cur.pos])
    if word in ("BOOL", "BOOLEAN"):
        args = "(1)"
    return type_name, args, first


def _members(cur: Cursor) -> tuple[str, ...]:
    """ENUM/SET members, read back from the argument tokens just consumed."""
    end = cur.pos - 1
    start = end
    while cur.tokens[start].value != "(" or cur.tokens[start].kind is not T.PUNCT:
        start -= 1
    return tuple(t.value for t in cur.tokens[start + 1:end] if t.kind is T.STRING)


class _Attrs:
    """Column attributes after the type, read until FIRST/AFTER or the end."""

    def __init__(self) -> None:
        self.unsigned = self.zerofill = self.not_null = False
        self.binary = self.generated = self.primary = self.unique = False
        self.charset: str | None = None
        self.collation: str | None = None
        self.references: NameRef | None = None
        self.default: list[Token] | None = None
        self.expression: list[Token] | None = None

    def read(self, cur: Cursor) -> None:
        while not cur.done() and not cur.at_any("FIRST", "AFTER"):
            self._one(cur)

    def _one(self, cur: Cursor) -> None:
        if cur.accept("UNSIGNED"):
            self.unsigned = True
        elif cur.accept("SIGNED"):
            pass
        elif cur.accept("ZEROFILL"):
            self.zerofill = self.unsigned = True
        elif cur.accept("NOT", "NULL"):
            self.not_null = True
        elif cur.accept("NULL"):
            pass
        elif cur.accept("CHARACTER", "SET") or cur.accept("CHARSET"):
            self.charset = cur.charset_name()
        elif cur.accept("ASCII"):
            self.charset = "latin1"
        elif cur.accept("UNICODE"):
            self.charset = "ucs2"
        elif cur.accept("BYTE"):
            self.charset = "binary"
        elif cur.accept("COLLATE"):
            self.collation = cur.charset_name()
        elif cur.accept("BINARY"):
            self.binary = True
        elif cur.accept("DEFAULT"):
            self.default = default_tokens(cur)
        elif cur.accept("ON", "UPDATE"):
            default_tokens(cur)
        elif cur.accept("PRIMARY", "KEY") or cur.accept("KEY"):
            self.primary = self.not_null = True
        elif cur.accept("UNIQUE"):
            cur.accept("KEY")
            self.unique = True
        elif cur.accept("GENERATED", "ALWAYS") or cur.at("AS"):
            self._generated(cur)
        elif cur.accept("COMMENT") or cur.accept("COLUMN_FORMAT") or cur.accept("STORAGE"):
            cur.next()
        elif cur.accept("REFERENCES"):
            self.references = cur.qualified()
            _skip_reference_tail(cur)
        elif cur.accept("CONSTRAINT"):
            if not cur.at("CHECK"):
                cur.name()
        elif cur.accept("CHECK"):
            cur.skip_group()
        elif cur.accept("SERIAL", "DEFAULT", "VALUE"):
            self.unsigned = self.not_null = self.unique = True
        elif cur.accept("WITH", "SYSTEM", "VERSIONING") or \
                cur.accept("WITHOUT", "SYSTEM", "VERSIONING"):
            pass
        elif cur.accept("SRID"):
            cur.next()
        elif cur.accept("COMPRESSED") or cur.accept("ENGINE_ATTRIBUTE") or \
                cur.accept("SECONDARY_ENGINE_ATTRIBUTE"):
            if cur.accept("="):
                cur.next()
        elif cur.at_any("AUTO_INCREMENT", "INVISIBLE", "VISIBLE", "VIRTUAL", "STORED",
                        "PERSISTENT", "ENFORCED"):
            cur.next()
        else:
            cur.fail("unknown column attribute")

    def _generated(self, cur: Cursor) -> None:
        cur.expect("AS")
        if cur.accept("ROW"):  # MariaDB system-versioning ROW START / ROW END
            cur.next()
            return
        start = cur.pos
        cur.skip_group()
        self.expression = cur.tokens[start + 1:cur.pos - 1]
        self.generated = True


def default_tokens(cur: Cursor) -> list[Token]:
    """A DEFAULT / ON UPDATE value: literal, signed number, (expr), f(args), _cs'str', NOW();
    an expression in parentheses without them."""
    start = cur.pos
    while cur.accept("-") or cur.accept("+"):
        pass
    if cur.at("("):
        group = cur.pos
        cur.skip_group()
        return cur.tokens[start + 1:cur.pos - 1] if group == start else cur.tokens[start:cur.pos]
    tok = cur.next()
    nxt = cur.peek()
    if tok.kind is T.WORD and nxt is not None and nxt.kind is T.STRING:
        cur.next()  # _utf8mb4'x', b'01', x'ff', DATE '2020-01-01'
    elif tok.kind is T.WORD and cur.at("("):
        cur.skip_group()
    while (nxt := cur.peek()) is not None and nxt.kind is T.STRING and tok.kind is T.STRING:
        cur.next()  # 'a' 'b' concatenation
    return cur.tokens[start:cur.pos]


def _skip_reference_tail(cur: Cursor) -> None:
    if cur.at("("):
        cur.skip_group()
    while cur.at_any("MATCH", "ON"):
        if cur.accept("MATCH"):
            cur.next()
            continue
        cur.next()
        cur.next()  # DELETE | UPDATE
        if not (cur.accept("SET", "NULL") or cur.accept("SET", "DEFAULT")
                or cur.accept("NO", "ACTION")):
            cur.next()  # RESTRICT | CASCADE


def parse_index(cur: Cursor) -> IndexDef:
    """A table-level key or constraint clause; `Index` names are filled in by the caller
    when the statement leaves them out (empty name)."""
    symbol = None
    if cur.accept("CONSTRAINT") and not cur.at_any("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
        symbol = cur.name()
    if cur.accept("CHECK"):
        cur.skip_to()
        return IndexDef(None)
    if cur.accept("PERIOD", "FOR"):
        cur.skip_to()
        return IndexDef(None)
    if cur.accept("FOREIGN", "KEY"):
        cur.skip_to("REFERENCES")
        cur.expect("REFERENCES")
        ref = cur.qualified()
        cur.skip_to()
        return IndexDef(None, ref)
    primary = cur.accept("PRIMARY", "KEY")
    unique = not primary and cur.accept("UNIQUE")
    special = primary or unique or cur.accept_any("FULLTEXT", "SPATIAL")
    if not special and not cur.at_any("INDEX", "KEY"):
        cur.fail("expected a key definition")
    if not primary:
        cur.accept_any("INDEX", "KEY")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = ""
    if not cur.at("(") and not cur.at("USING"):
        name = cur.name()
    if primary:
        name = "PRIMARY"
    elif not name and symbol and unique:
        name = symbol
    if cur.accept("USING") or cur.accept("TYPE"):
        cur.next()
    columns, partial = key_parts(cur)
    cur.skip_to()  # index options
    return IndexDef(Index(name, columns, unique or primary, primary, partial),
                    if_not_exists=if_not_exists)


def key_parts(cur: Cursor) -> tuple[tuple[str, ...], bool]:
    """Column names of `(a, b(10) DESC, ...)` and whether a part is a prefix or an
    expression; no names at all when a part is an expression (`((lower(a)))`)."""
    names: list[str] = []
    partial = False
    for start, end in cur.group_items():
        part = Cursor(cur.tokens, start, end)
        tok = part.peek()
        if tok is None or not tok.is_name:
            return (), True
        names.append(part.name())
        if part.at("("):
            part.skip_group()
            partial = True
        part.accept_any("ASC", "DESC")
        if not part.done():
            return (), True
    return tuple(names), partial


def unique_index_name(columns: tuple[str, ...], taken: set[str]) -> str:
    """MySQL's name for an unnamed key: its first column (`functional_index` for one of
    expressions), then `_2`, `_3`... if taken."""
    base = columns[0] if columns else "functional_index"
    if base.lower() not in taken:
        return base
    n = 2
    while f"{base}_{n}".lower() in taken:
        n += 1
    return f"{base}_{n}"


def expect_end(cur: Cursor) -> None:
    if not cur.done():
        cur.fail("unexpected text")


__all__ = ["BINARY_TYPES", "STRING_TYPES", "ColumnDef", "IndexDef", "ParseError",
           "expect_end", "key_parts", "parse_column", "parse_index", "unique_index_name"]
