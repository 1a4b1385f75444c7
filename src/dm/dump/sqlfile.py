"""Statements of a SQL dump file (mydumper's or dumpling's), read as a stream.

A file is split on `;` outside quotes and comments, block by block, so memory holds one
statement, whatever the size of the file. Each statement comes with the byte offset where
it ends, which is what the loader's checkpoint records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

BLOCK = 1 << 20
# A string, quoted name or comment (unterminated ones run to the end of what was read),
# or a statement's end.
_TOKEN = re.compile(rb"""
    '(?:[^'\\]+|\\(?:.|\Z)|'')*(?:'|\Z)
  | "(?:[^"\\]+|\\(?:.|\Z)|"")*(?:"|\Z)
  | `(?:[^`]+|``)*(?:`|\Z)
  | /\*.*?(?:\*/|\Z)
  | (?:--[ \t]|\#)[^\n]*(?:\n|\Z)
  | ;""", re.X | re.S)


def statements(path: Path, block: int = BLOCK) -> Iterator[tuple[bytes, int]]:
    """Each statement of the file (stripped, without its `;`) and the byte offset just
    after its `;`. Text after the last `;` that is only blanks or comments is ignored; any
    other is returned as a last statement."""
    buf = b""
    base = 0  # file offset of buf[0]
    with open(path, "rb") as f:
        eof = False
        while not eof:
            data = f.read(block)
            eof = not data
            buf += data
            start = scan = 0
            while (m := _TOKEN.search(buf, scan)) is not None:
                if m.end() == len(buf) and not eof and m.group() != b";":
                    break  # a token cut by the block's end: read on, then look again
                scan = m.end()
                if m.group() == b";":
                    if stmt := buf[start:m.start()].strip():
                        yield stmt, base + m.end()
                    start = m.end()
            buf, base = buf[start:], base + start
    if rest := _meaningful(buf):
        yield rest, base + len(buf)


def _meaningful(tail: bytes) -> bytes:
    """`tail` without comments and blanks; empty if nothing else is there."""
    text = tail.strip()
    while text.startswith((b"--", b"#", b"/*")) and not text.startswith(b"/*!"):
        if text.startswith(b"/*"):
            end = text.find(b"*/")
            text = text[end + 2:].strip() if end >= 0 else b""
        else:
            nl = text.find(b"\n")
            text = text[nl + 1:].strip() if nl >= 0 else b""
    return text
