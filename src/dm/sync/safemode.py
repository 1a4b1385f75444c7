"""Whether sync writes in safe mode (idempotent SQL: REPLACE, DELETE + REPLACE).

Safe mode is on while any of these holds, as in DM:
- `safe-mode: true` in the task: always;
- an exit location is known (a checkpoint saved after a crash, or the location the
  dump ended at): until replication reaches it;
- `safe-mode-duration` (default 2 x checkpoint-flush-interval = 60 s) after this
  start or resume; `0s` turns this one off.
Create one SafeMode per start or resume; the clock is injected so it stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

L = TypeVar("L")

DEFAULT_DURATION = 60.0  # seconds: 2 x the default checkpoint-flush-interval


def _before(location: Any, exit_at: Any) -> bool:
    return bool(location < exit_at)


class SafeMode(Generic[L]):
    def __init__(self, *, permanent: bool, exit_at: L | None, clock: Callable[[], float],
                 duration: float = DEFAULT_DURATION,
                 before: Callable[[L, L], bool] = _before) -> None:
        """Locations are opaque here: `before(a, b)` says whether a is still before b
        (for binlog Locations, `compare_locations(a, b, by_gtid=...) < 0`)."""
        self.permanent = permanent
        self.exit_at = exit_at  # None once passed: nothing left to persist
        self._before = before
        self._clock = clock
        self._until: float | None = clock() + duration if duration > 0 else None

    def active(self, location: L) -> bool:
        """Whether the change read at `location` must be written in safe mode."""
        if self.permanent:
            return True
        if self.exit_at is not None:
            if self._before(location, self.exit_at):
                return True
            self.exit_at = None
        if self._until is not None:
            if self._clock() < self._until:
                return True
            self._until = None
        return False
