"""Objects over a pipe between the syncer and its reader process, one per frame.

A frame is marshalled when everything in it is a plain built-in value (ints, strings,
bytes, tuples, lists, None...: what most rows decode to), which writes four times faster
than pickle; anything else (Decimal, datetime, a dataclass) makes it a pickled frame.
Both ends run the same interpreter, so marshal's format is the same on both.

The length prefix is 8 bytes, its top byte the encoding: a frame is never cut short by
its size, whatever one batch of rows weighs (the reader bounds batches by bytes too, see
reader.MAX_BYTES).
"""

from __future__ import annotations

import marshal
import pickle
import struct
from typing import IO, Any

_LENGTH = struct.Struct("<Q")
_PICKLED = 1 << 56  # the top byte of the length: 0 marshal, 1 pickle
_SIZE = _PICKLED - 1


def write_frame(out: IO[bytes], obj: Any) -> None:
    try:
        data, tag = marshal.dumps(obj, marshal.version), 0
    except ValueError:  # a value marshal does not know
        data, tag = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), _PICKLED
    out.write(_LENGTH.pack(len(data) | tag))  # two writes: no copy of a large batch
    out.write(data)
    out.flush()


def read_frame(inp: IO[bytes]) -> Any:
    """The next object, or None once the other end has closed the pipe."""
    head = inp.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (word,) = _LENGTH.unpack(head)
    size = word & _SIZE
    data = inp.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data) if word & _PICKLED else marshal.loads(data)
