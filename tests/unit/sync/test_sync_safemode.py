"""Safe mode: permanent, until an exit location, and for a duration after each start."""

from __future__ import annotations

from tests.unit.sync.clock import Clock

from dm.sync.safemode import DEFAULT_DURATION, SafeMode


def test_permanent() -> None:
    clock = Clock()
    safe: SafeMode[int] = SafeMode(permanent=True, exit_at=None, clock=clock, duration=0)
    clock.now += 1e6
    assert safe.active(10**9)


def test_for_the_default_duration_after_start() -> None:
    clock = Clock()
    safe: SafeMode[int] = SafeMode(permanent=False, exit_at=None, clock=clock)
    assert DEFAULT_DURATION == 60.0
    clock.now += 59.9
    assert safe.active(1)
    clock.now += 0.1
    assert not safe.active(2)
    clock.now -= 10  # a clock going back does not re-enable it
    assert not safe.active(3)


def test_zero_duration_disables_the_automatic_window() -> None:
    safe: SafeMode[int] = SafeMode(permanent=False, exit_at=None, clock=Clock(), duration=0)
    assert not safe.active(1)


def test_until_the_exit_location_is_reached() -> None:
    safe = SafeMode(permanent=False, exit_at=100, clock=Clock(), duration=0)
    assert safe.active(99)
    assert safe.exit_at == 100
    assert not safe.active(100)
    assert safe.exit_at is None
    assert not safe.active(50), "once passed, the exit location is forgotten"


def test_exit_location_and_duration_both_count() -> None:
    clock = Clock()
    safe = SafeMode(permanent=False, exit_at=100, clock=clock, duration=5)
    assert safe.active(200), "within the duration"
    clock.now += 5
    assert not safe.active(200)


def test_locations_compare_with_the_given_callable() -> None:
    calls = []

    def before(a: str, b: str) -> bool:
        calls.append((a, b))
        return len(a) < len(b)

    safe = SafeMode(permanent=False, exit_at="xxx", clock=Clock(), duration=0, before=before)
    assert safe.active("zz")
    assert not safe.active("aaa")
    assert calls == [("zz", "xxx"), ("aaa", "xxx")]
