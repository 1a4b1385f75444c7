"""Pickled objects over a pipe between the syncer and its reader process, one per frame.

The length prefix is 8 bytes: a frame is never cut short by its size, whatever one batch
of rows weighs (the reader bounds batches by bytes too, see reader.MAX_BYTES).
"""

from __future__ import annotations

import pickle
import struct
from typing import IO, Any

_LENGTH = struct.Struct("<Q")


def write_frame(out: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))  # two writes: no copy of a large batch
    out.write(data)
    out.flush()


def read_frame(inp: IO[bytes]) -> Any:
    """The next object, or None once the other end has closed the pipe."""
    head = inp.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = inp.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)
