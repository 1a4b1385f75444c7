"""A counter's recent rate: per second, over a sliding window of samples."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class RecentRate:
    """Sample a growing total now and then (`note`); `per_second()` is its growth over the
    last `window` seconds, so it falls to 0 when the total stops growing."""

    def __init__(self, clock: Callable[[], float], window: float = 30.0,
                 every: float = 1.0) -> None:
        self._clock = clock
        self._window = window
        self._every = every
        self._samples: deque[tuple[float, int]] = deque()

    def note(self, total: int) -> None:
        now = self._clock()
        samples = self._samples
        if samples and now - samples[-1][0] < self._every:
            return
        samples.append((now, total))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()

    def per_second(self, total: int) -> int:
        if not self._samples:
            return 0
        since, then = self._samples[0]
        elapsed = self._clock() - since
        return int((total - then) / elapsed) if elapsed > 0 else 0
