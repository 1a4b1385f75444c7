"""dm_syncer_remaining_time: bytes behind over the recent byte rate."""

from tests.unit.sync.clock import Clock

from dm.binlog.location import Location
from dm.sync.catchup import CatchUp, span

SIZES = {"bin.000001": 1000, "bin.000002": 500, "bin.000003": 300}


def _at(n: int, pos: int) -> Location:
    return Location(f"bin.{n:06d}", pos)


def test_span_within_and_across_files() -> None:
    assert span(_at(1, 100), _at(1, 400), SIZES) == 300
    assert span(_at(1, 400), _at(1, 100), SIZES) == 0
    assert span(_at(1, 900), _at(3, 50), SIZES) == 100 + 500 + 50


def test_remaining_time_is_the_bytes_behind_over_the_recent_rate() -> None:
    clock = Clock()
    catch_up = CatchUp(clock)
    master = _at(3, 300)
    assert catch_up.remaining(_at(1, 0), master, SIZES) is None  # no rate yet
    clock.now += 10
    # 1,000 bytes in 10 s; 500 + 300 to go
    assert catch_up.remaining(_at(2, 0), master, SIZES) == 8.0
    clock.now += 10
    assert catch_up.remaining(master, master, SIZES) == 0.0
