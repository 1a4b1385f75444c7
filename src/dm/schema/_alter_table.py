"""Applying ALTER TABLE changes (and CREATE/DROP INDEX) to one TableInfo, MySQL's way."""

from __future__ import annotations

from dataclasses import replace

from dm.schema import alter, charsets
from dm.schema.ddl import AlterTable, CreateIndexStmt, DropIndexStmt
from dm.schema.definitions import STRING_TYPES, ColumnDef, unique_index_name
from dm.schema.expressions import canonical_default
from dm.schema.table import Column, Index, TableInfo

_TEXT_SIZES = (("tinytext", 255), ("text", 65535), ("mediumtext", 16777215),
               ("longtext", 4294967295))


class TrackError(ValueError):
    """The DDL does not fit the tracked table (unknown column, duplicate key...)."""


class TableChange:
    """A working copy of one table that ALTER changes are applied to in order."""

    def __init__(self, info: TableInfo, flavor: str) -> None:
        self.info, self.flavor = info, flavor
        self.columns: list[Column] = list(info.columns)
        self.indexes: list[Index] = list(info.indexes)
        self.default = charsets.Charset(info.charset or "utf8mb4",
                                        info.collation or "utf8mb4_general_ci")
        self.name: tuple[str, str] | None = None  # set by RENAME TO

    def result(self) -> TableInfo:
        return TableInfo(self.info.schema, self.info.table, tuple(self.columns),
                         tuple(self.indexes), self.default.charset, self.default.collation)

    def apply(self, statement: AlterTable | CreateIndexStmt | DropIndexStmt) -> None:
        if isinstance(statement, AlterTable):
            for spec in statement.specs:
                self._spec(spec.action)
        elif isinstance(statement, CreateIndexStmt):
            self._add_index(Index(statement.name, statement.columns, statement.unique,
                                  partial=statement.partial), statement.if_not_exists)
        elif isinstance(statement, DropIndexStmt):
            self._drop_index(statement.name, statement.if_exists)

    def _spec(self, action: alter.Action) -> None:
        if isinstance(action, alter.AddColumns):
            for cdef in action.columns:
                self._add_column(cdef, action.position, action.if_not_exists)
        elif isinstance(action, alter.DropColumn):
            self._drop_column(action.name, action.if_exists)
        elif isinstance(action, alter.ChangeColumn):
            self._change_column(action)
        elif isinstance(action, alter.RenameColumn):
            self._rename_column(action.old, action.new)
        elif isinstance(action, alter.SetDefault):
            i = self._column_at(action.column)
            col = self.columns[i]
            self.columns[i] = replace(col, default=None if action.default is None else
                                      canonical_default(action.default, col.type_name))
        elif isinstance(action, alter.AddIndex):
            if action.index.index is not None:
                self._add_index(action.index.index, action.index.if_not_exists)
        elif isinstance(action, alter.DropIndex):
            self._drop_index(action.name, action.if_exists)
        elif isinstance(action, alter.RenameIndex):
            i = self._index_at(action.old)
            self.indexes[i] = replace(self.indexes[i], name=action.new)
        elif isinstance(action, alter.RenameTable):
            self.name = (action.to.schema or self.info.schema, action.to.name)
        elif isinstance(action, alter.SetCharset):
            self._set_charset(action)

    # --- columns -------------------------------------------------------------------
    def _find(self, name: str) -> int | None:
        return next((i for i, c in enumerate(self.columns) if c.name.lower() == name.lower()),
                    None)

    def _column_at(self, name: str) -> int:
        i = self._find(name)
        if i is None:
            raise TrackError(f"column {name} does not exist")
        return i

    def _resolve(self, cdef: ColumnDef) -> Column:
        col = cdef.resolve(self.default, self.flavor)
        pk = self._primary()
        if cdef.primary or (pk and col.name.lower() in (c.lower() for c in pk.columns)):
            col = replace(col, nullable=False)
        return col

    def _place(self, col: Column, position: alter.Position | None, at: int) -> None:
        if position is not None and position.first:
            at = 0
        elif position is not None and position.after is not None:
            at = self._column_at(position.after) + 1
        self.columns.insert(at, col)

    def _add_column(self, cdef: ColumnDef, position: alter.Position | None,
                    if_not_exists: bool) -> None:
        if self._find(cdef.column.name) is not None:
            if if_not_exists:
                return
            raise TrackError(f"column {cdef.column.name} already exists")
        self._place(self._resolve(cdef), position, len(self.columns))
        self._column_keys(cdef)

    def _column_keys(self, cdef: ColumnDef) -> None:
        name = cdef.column.name
        if cdef.primary:
            self._add_index(Index("PRIMARY", (name,), True, True), False)
        elif cdef.unique:
            self._add_index(Index("", (name,), True), False)

    def _drop_column(self, name: str, if_exists: bool) -> None:
        i = self._find(name)
        if i is None:
            if if_exists:
                return
            raise TrackError(f"column {name} does not exist")
        del self.columns[i]
        kept = []
        for index in self.indexes:
            cols = tuple(c for c in index.columns if c.lower() != name.lower())
            if cols or not index.columns:  # an expression key stays: it may not use `name`
                kept.append(replace(index, columns=cols))
        self.indexes = kept

    def _change_column(self, change: alter.ChangeColumn) -> None:
        i = self._find(change.old)
        if i is None:
            if change.if_exists:
                return
            raise TrackError(f"column {change.old} does not exist")
        new_name = change.column.column.name
        if new_name.lower() != change.old.lower() and self._find(new_name) is not None:
            raise TrackError(f"column {new_name} already exists")
        del self.columns[i]
        self._rename_in_indexes(change.old, new_name)
        self._place(self._resolve(change.column), change.position, i)
        self._column_keys(change.column)

    def _rename_column(self, old: str, new: str) -> None:
        i = self._column_at(old)
        if new.lower() != old.lower() and self._find(new) is not None:
            raise TrackError(f"column {new} already exists")
        self.columns[i] = replace(self.columns[i], name=new)
        self._rename_in_indexes(old, new)

    def _rename_in_indexes(self, old: str, new: str) -> None:
        self.indexes = [replace(x, columns=tuple(new if c.lower() == old.lower() else c
                                                 for c in x.columns)) for x in self.indexes]

    def _set_charset(self, action: alter.SetCharset) -> None:
        new = charsets.resolve(action.charset, action.collation, self.default, self.flavor)
        if action.convert:
            self.columns = [self._convert(c, new) for c in self.columns]
        self.default = new

    def _convert(self, col: Column, new: charsets.Charset) -> Column:
        """CONVERT TO: text columns take the new charset; TEXT types widen so that they
        still hold as many characters as before."""
        if col.type_name not in STRING_TYPES or col.charset is None:
            return col
        converted = replace(col, charset=new.charset, collation=new.collation)
        sizes = dict(_TEXT_SIZES)
        if col.type_name not in sizes:
            return converted
        needed = sizes[col.type_name] // charsets.maxlen(col.charset) * charsets.maxlen(
            new.charset)
        type_name = next(t for t, size in _TEXT_SIZES if size >= needed or t == "longtext")
        return replace(converted, type_name=type_name, column_type=type_name)

    # --- indexes -------------------------------------------------------------------
    def _primary(self) -> Index | None:
        return next((x for x in self.indexes if x.primary), None)

    def _index_at(self, name: str) -> int:
        for i, index in enumerate(self.indexes):
            if index.name.lower() == name.lower():
                return i
        raise TrackError(f"index {name} does not exist")

    def _add_index(self, index: Index, if_not_exists: bool) -> None:
        columns = tuple(self.columns[self._column_at(c)].name for c in index.columns)
        taken = {x.name.lower() for x in self.indexes}
        name = index.name or unique_index_name(columns, taken)
        if index.primary and self._primary() is not None:
            raise TrackError("the table already has a primary key")
        if name.lower() in taken:
            if if_not_exists:
                return
            raise TrackError(f"index {name} already exists")
        self.indexes.append(replace(index, name=name, columns=columns))
        if index.primary:
            self.indexes.sort(key=lambda x: not x.primary)
            pk = {c.lower() for c in columns}
            self.columns = [replace(c, nullable=False) if c.name.lower() in pk else c
                            for c in self.columns]

    def _drop_index(self, name: str, if_exists: bool) -> None:
        try:
            del self.indexes[self._index_at(name)]
        except TrackError:
            if not if_exists:
                raise
