"""Where a binlog query event stands in its transaction.

MySQL and MariaDB log some statements *inside* a transaction's event group: SAVEPOINT,
ROLLBACK TO, RELEASE SAVEPOINT, XA END; MySQL 8.0.21+ logs CREATE TABLE ... SELECT as
"CREATE TABLE ... START TRANSACTION" followed by the rows and an XID. Only the end of a
group may move a checkpoint, so each query event is classified once, here.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import NamedTuple


class Role(Enum):
    BEGIN = "begin"  # opens a transaction: BEGIN, START TRANSACTION, XA START/BEGIN
    END = "end"  # ends one: COMMIT, ROLLBACK, XA COMMIT, XA ROLLBACK
    INSIDE = "inside"  # part of the transaction around it, nothing to run downstream
    STATEMENT = "statement"  # anything else (DDL...): its own group, unless inside one


_COMMENTS = re.compile(r"\A(?:\s+|/\*(?![!+]).*?\*/|(?:--\s|#)[^\n]*(?:\n|\Z))*", re.S)
_WORD = re.compile(r"[A-Za-z]+")
_ROLES = {
    ("BEGIN",): Role.BEGIN, ("START", "TRANSACTION"): Role.BEGIN,
    ("XA", "START"): Role.BEGIN, ("XA", "BEGIN"): Role.BEGIN,
    ("COMMIT",): Role.END, ("ROLLBACK",): Role.END,
    ("XA", "COMMIT"): Role.END, ("XA", "ROLLBACK"): Role.END,
    ("SAVEPOINT",): Role.INSIDE, ("RELEASE",): Role.INSIDE, ("XA", "END"): Role.INSIDE,
    ("XA", "PREPARE"): Role.INSIDE,  # the group ends at the XA_PREPARE event after it
}
_ROLLBACK_TO = re.compile(r"ROLLBACK\s+(?:WORK\s+)?TO\b", re.I)
_ATOMIC_CTAS = re.compile(r"\s+START\s+TRANSACTION\s*;?\s*\Z", re.I)


def role_of(sql: str) -> Role:
    """The role of a query event's statement in its transaction."""
    text = sql[_COMMENTS.match(sql).end():]  # type: ignore[union-attr]  # always matches
    words = tuple(w.upper() for w in _WORD.findall(text[:40])[:2])
    if not words:
        return Role.STATEMENT
    if words[0] == "ROLLBACK" and _ROLLBACK_TO.match(text):
        return Role.INSIDE
    return _ROLES.get(words[:1]) or _ROLES.get(words) or Role.STATEMENT


def split_atomic_create_select(sql: str) -> tuple[str, bool]:
    """MySQL 8.0.21+ logs CREATE TABLE ... SELECT as `<create> START TRANSACTION`, with the
    rows and the XID after it: (the CREATE TABLE to run, whether a transaction opens)."""
    match = _ATOMIC_CTAS.search(sql)
    if match is None or role_of(sql) is not Role.STATEMENT:
        return sql, False
    return sql[:match.start()], True


class Xid(NamedTuple):
    """An XA transaction's id, as the server keeps it (its XA_PREPARE event carries it)."""

    gtrid: bytes
    bqual: bytes = b""
    format_id: int = 1

    def __str__(self) -> str:  # as the binlog spells it
        return f"X'{self.gtrid.hex()}',X'{self.bqual.hex()}',{self.format_id}"


class XaStatement(NamedTuple):
    verb: str  # START, BEGIN, END, PREPARE, COMMIT or ROLLBACK
    xid: Xid
    one_phase: bool  # XA COMMIT ... ONE PHASE


_LITERAL = r"(?:[xX]'[0-9a-fA-F]*'|0[xX][0-9a-fA-F]+|'(?:[^'\\]|''|\\.)*')"
_XA = re.compile(rf"XA\s+(START|BEGIN|END|PREPARE|COMMIT|ROLLBACK)\s+({_LITERAL})"
                 rf"(?:\s*,\s*({_LITERAL})(?:\s*,\s*(\d+))?)?(\s+ONE\s+PHASE\b)?", re.I)


def xa_statement(sql: str) -> XaStatement | None:
    """An XA statement's verb and xid (the binlog writes them `X'..',X'..',n`); None for
    any other statement."""
    text = sql[_COMMENTS.match(sql).end():]  # type: ignore[union-attr]  # always matches
    match = _XA.match(text)
    if match is None:
        return None
    verb, gtrid, bqual, format_id, one_phase = match.groups()
    xid = Xid(_literal_bytes(gtrid), _literal_bytes(bqual) if bqual else b"",
              int(format_id) if format_id else 1)
    return XaStatement(verb.upper(), xid, one_phase is not None)


def _literal_bytes(literal: str) -> bytes:
    if literal[0] in "xX" or literal[:2] in ("0x", "0X"):
        digits = literal[2:-1] if literal[1] == "'" else literal[2:]
        return bytes.fromhex(digits)
    body = literal[1:-1].replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body).encode()
