"""The source's `checker` block decides when a paused subtask resumes by itself."""

from __future__ import annotations

import random
from datetime import timedelta

from dm.config.source import CheckerConfig
from dm.worker.autoresume import AutoResume, Backoff


def _policy(**kw: object) -> AutoResume:
    base = {"check_interval": 1.0, "minimum": 1.0, "maximum": 8.0, "factor": 2.0,
            "jitter": False, "rollback": 60.0}
    return AutoResume(**{**base, **kw})  # type: ignore[arg-type]


def _wait(backoff: Backoff, ran_for: float) -> float:
    """`backoff.next_wait(ran_for)`, which must not be None (the subtask resumes)."""
    wait = backoff.next_wait(ran_for)
    assert wait is not None
    return wait


def test_backoff_doubles_up_to_the_maximum() -> None:
    backoff = Backoff(_policy())
    assert [backoff.next_wait(0.5) for _ in range(6)] == [1, 2, 4, 8, 8, 8]


def test_a_long_good_run_starts_the_backoff_again() -> None:
    backoff = Backoff(_policy())
    assert [backoff.next_wait(0.5) for _ in range(3)] == [1, 2, 4]
    assert backoff.next_wait(61.0) == 1


def test_waits_end_on_a_check_interval_tick() -> None:
    backoff = Backoff(_policy(check_interval=5.0, factor=3.0, maximum=100.0))
    assert [backoff.next_wait(0) for _ in range(4)] == [5, 5, 10, 30]


def test_jitter_draws_between_the_minimum_and_the_current_backoff() -> None:
    backoff = Backoff(_policy(jitter=True, check_interval=0.001, maximum=64.0),
                      random.Random(1))
    waits = [_wait(backoff, 0) for _ in range(8)]
    ceilings = [1, 2, 4, 8, 16, 32, 64, 64]
    assert all(1 <= w <= c + 0.001 for w, c in zip(waits, ceilings, strict=True))


def test_check_enable_false_never_resumes() -> None:
    assert Backoff(_policy(enabled=False)).next_wait(0) is None


def test_policy_from_dms_checker_block() -> None:
    checker = CheckerConfig(check_enable=False, backoff_min=timedelta(seconds=2),
                            backoff_max=timedelta(minutes=1), backoff_factor=1.5,
                            backoff_jitter=False, check_interval=timedelta(seconds=3),
                            backoff_rollback=timedelta(minutes=2))
    assert AutoResume.from_checker(checker) == AutoResume(False, 3.0, 2.0, 60.0, 1.5, False,
                                                          120.0)
    assert AutoResume.from_checker(CheckerConfig()) == AutoResume()
