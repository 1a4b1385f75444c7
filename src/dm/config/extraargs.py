"""`mydumpers.extra-args`: the dumpling flags DM passes through, read into what pydm does.

Split as DM splits them: on blanks, then one pair of surrounding quotes taken off each
word (so `--where "a > 1"` is three words in DM too; write `--where=a>1`). pydm's dump
honours `--consistency auto|flush|lock|none` (and `--no-locks`), `-t/--threads`,
`-r/--rows`, `--where`, `-B/--database` and `-T/--tables-list` (which, as in DM, replaces
the block-allow list for the dump); flags that only shape dumpling's own files (`-F`, `-s`,
`--escape-backslash`, `--transactional-consistency`, `-W/--no-views`) change nothing in
pydm's dump and are accepted. Every other flag (`-f/--filter`, `--consistency snapshot`,
which only a TiDB upstream has, `--snapshot`, TLS files) would change what is dumped, so it
is reported as unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

_CONSISTENCY = frozenset({"auto", "flush", "lock", "none"})
_NUMBERS = {"-t": "threads", "--threads": "threads", "-r": "rows", "--rows": "rows"}
_LISTS = {"-B": "databases", "--database": "databases", "-T": "tables",
          "--tables-list": "tables"}
_FORMAT_ONLY_VALUED = frozenset({"-F", "--filesize", "-s", "--statement-size"})
_FORMAT_ONLY = frozenset({"--escape-backslash", "--transactional-consistency", "-W",
                          "--no-views"})
_VALUED = frozenset({*_NUMBERS, *_LISTS, *_FORMAT_ONLY_VALUED, "--consistency", "--where"})


@dataclass
class DumpArgs:
    consistency: str = "auto"
    threads: int | None = None
    rows: int | None = None
    where: str | None = None
    databases: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  # -T db.table,...
    unsupported: list[str] = field(default_factory=list)

    def dump_filter(self, allows: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
        """Which tables the dump takes: `allows` (the block-allow list), narrowed to
        `-B`'s databases, or replaced by `-T`'s tables, as dumpling does under DM."""
        databases, tables = set(self.databases), set(self.tables)
        in_tables = {schema for schema, _ in tables}

        def dumped(schema: str, table: str) -> bool:
            if databases and schema not in databases:
                return False
            if tables:
                return (schema, table) in tables if table else schema in in_tables
            return allows(schema, table)
        return dumped

    def database_filter(self, takes: Callable[[str], bool]) -> Callable[[str], bool]:
        """Which databases the dump takes, with tables or not: `takes` (the block-allow
        list's), narrowed to `-B`'s, or only those of `-T`'s tables."""
        databases, in_tables = set(self.databases), {schema for schema, _ in self.tables}
        if in_tables:
            return in_tables.__contains__
        return lambda schema: (not databases or schema in databases) and takes(schema)


def _unquoted(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def parse_extra_args(text: str) -> DumpArgs:
    out = DumpArgs()
    args = [_unquoted(word) for word in text.split()]
    i = 0
    while i < len(args):
        flag, eq, inline = args[i].partition("=")
        value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
        takes = flag in _VALUED
        i += 1 if eq or not takes else 2
        if flag == "--no-locks":
            out.consistency = "none"
        elif flag == "--consistency" and value in _CONSISTENCY:
            out.consistency = value
        elif flag in _NUMBERS and value.isdigit():
            setattr(out, _NUMBERS[flag], int(value))
        elif flag == "--where" and value:
            out.where = value
        elif flag in _LISTS and value:
            if not _add_list(out, _LISTS[flag], value):
                out.unsupported.append(f"{flag} {value}")
        elif not ((flag in _FORMAT_ONLY_VALUED and value) or (flag in _FORMAT_ONLY and not eq)):
            out.unsupported.append(f"{flag} {value}".strip() if takes else args[i - 1])
    return out


def _add_list(out: DumpArgs, name: str, value: str) -> bool:
    """Add `-B`'s databases or `-T`'s qualified tables; False if a table is not db.table."""
    items = [v for v in value.split(",") if v]
    if name == "databases":
        out.databases += items
        return True
    pairs = [tuple(v.split(".", 1)) for v in items]
    if not all(len(p) == 2 and all(p) for p in pairs):
        return False
    out.tables += [(p[0], p[1]) for p in pairs]
    return True
