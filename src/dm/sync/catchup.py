"""How long the syncer needs to reach the upstream's end of the binlog (DM's
`dm_syncer_remaining_time`): the bytes between the two over the rate at which it went
through bytes lately."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dm.binlog.location import Location, file_key
from dm.sync.rate import RecentRate


def span(start: Location, end: Location, sizes: Mapping[str, int]) -> int:
    """Binlog bytes from `start` to `end` (0 if `end` is not after it); `sizes` are the
    upstream's file sizes (SHOW BINARY LOGS), for a span over several files."""
    if not start < end:
        return 0
    if start.file == end.file:
        return end.pos - start.pos
    between = [size for name, size in sizes.items()
               if file_key(start.file) < file_key(name) < file_key(end.file)]
    return max(0, sizes.get(start.file, start.pos) - start.pos) + sum(between) + end.pos


class CatchUp:
    def __init__(self, clock: Callable[[], float], window: float = 60.0) -> None:
        self._rate = RecentRate(clock, window)
        self._done = 0  # bytes gone through since the first estimate
        self._last: Location | None = None

    def remaining(self, syncer: Location, master: Location, sizes: Mapping[str, int]
                  ) -> float | None:
        """Seconds to go, 0 when caught up, None while no rate is known yet (asked now
        and then: each call notes how far the syncer went since the last)."""
        if self._last is not None:
            self._done += span(self._last, syncer, sizes)
        self._last = syncer
        self._rate.note(self._done)
        behind = span(syncer, master, sizes)
        if behind == 0:
            return 0.0
        rate = self._rate.per_second(self._done)
        return behind / rate if rate > 0 else None
