"""When a subtask paused by a retryable error resumes by itself: the source's `checker`.

As DM's task checker: a paused subtask is looked at every `check-interval`; it resumes once
its backoff has passed. The backoff starts at `backoff-min`, grows by `backoff-factor` up
to `backoff-max` with each failure, and falls back to `backoff-min` when the subtask ran
for `backoff-rollback` without failing. `backoff-jitter` draws each wait at random between
`backoff-min` and the current backoff. `check-enable: false` turns it all off.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from dm.config.source import CheckerConfig


@dataclass(frozen=True)
class AutoResume:
    enabled: bool = True
    check_interval: float = 5.0
    minimum: float = 1.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: bool = True
    rollback: float = 300.0

    @classmethod
    def from_checker(cls, checker: CheckerConfig) -> AutoResume:
        return cls(checker.check_enable, checker.check_interval.total_seconds(),
                   checker.backoff_min.total_seconds(), checker.backoff_max.total_seconds(),
                   checker.backoff_factor, checker.backoff_jitter,
                   checker.backoff_rollback.total_seconds())


class Backoff:
    """The waits of one subtask's successive automatic resumes."""

    def __init__(self, policy: AutoResume, rnd: random.Random | None = None) -> None:
        self.policy = policy
        self._current = policy.minimum
        self._random = rnd or random.Random()

    def next_wait(self, ran_for: float) -> float | None:
        """Seconds until the resume of a subtask that failed after running `ran_for`
        seconds (None: it stays paused). Waits end on a tick of the check interval."""
        p = self.policy
        if not p.enabled:
            return None
        if ran_for >= p.rollback:
            self._current = p.minimum  # it ran well for a while: start small again
        wait = self._random.uniform(p.minimum, self._current) if p.jitter else self._current
        self._current = min(self._current * p.factor, p.maximum)
        tick = max(p.check_interval, 1e-3)
        return math.ceil(wait / tick) * tick
