from tests.unit.sync.clock import Clock

from dm.sync.rate import RecentRate


def test_the_rate_follows_the_last_window_only() -> None:
    clock = Clock(0.0)
    rate = RecentRate(clock, window=10)
    total = 0
    for _ in range(60):  # 1,000 events/s for a minute
        rate.note(total)
        clock.now += 1
        total += 1000
    assert rate.per_second(total) == 1000
    for _ in range(60):  # then 100/s
        rate.note(total)
        clock.now += 1
        total += 100
    assert 100 <= rate.per_second(total) <= 110
    for _ in range(15):  # then nothing
        rate.note(total)
        clock.now += 1
    assert rate.per_second(total) == 0


def test_no_sample_yet_is_zero_and_samples_are_spaced() -> None:
    clock = Clock(0.0)
    rate = RecentRate(clock, window=10, every=1)
    assert rate.per_second(5) == 0
    rate.note(0)
    clock.now = 0.5
    rate.note(50)  # too soon: not kept
    clock.now = 2
    assert rate.per_second(200) == 100
