"""Whether this process may still act on what an etcd lease gives it: a worker its
source (a source has one writer at a time), a master the leadership.

A worker owns its source for as long as its etcd keepalive lease lives; when the lease
ends (the worker was frozen, cut off from etcd, or too slow), the master gives the
source to another worker. The fence closes a margin before the earliest moment the
lease can have ended in etcd (measured from when the last refresh was *sent*), and every
downstream statement and COMMIT of the worker's sessions checks it first, so a worker
that wakes up after a SIGSTOP past its TTL writes nothing.
"""

from __future__ import annotations

import time

from dm import errors

MARGIN_S = 1.0  # the fence closes this long before the lease can have ended in etcd


class Fence:
    def __init__(self, name: str) -> None:
        self.name = name
        self._until = 0.0  # closed until a lease is granted

    def renewed(self, sent_at: float, ttl: float) -> None:
        """A lease grant or refresh sent at `sent_at` (time.monotonic) was acknowledged."""
        self._until = max(self._until, sent_at + ttl - MARGIN_S)

    def close(self) -> None:
        self._until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def check(self) -> None:
        if not self.is_open():
            raise errors.WORKER_FENCED(name=self.name)
