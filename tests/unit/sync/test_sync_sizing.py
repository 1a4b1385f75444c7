"""DM's worker-count and batch fitted to the machine and the downstream (sync/sizing.py)."""

from dm.sync.sizing import MERGE_CHANGES, NEAR_RTT_S, applier_count, transaction_changes


def test_a_near_downstream_gets_no_more_appliers_than_cores() -> None:
    assert applier_count(16, NEAR_RTT_S / 10, cpus=2) == 2
    assert applier_count(16, NEAR_RTT_S / 10, cpus=8) == 8
    assert applier_count(3, NEAR_RTT_S / 10, cpus=8) == 3  # never more than asked


def test_a_single_core_still_gets_two_appliers_unless_asked_for_one() -> None:
    assert applier_count(16, 0.0, cpus=1) == 2
    assert applier_count(1, 0.0, cpus=1) == 1


def test_a_far_downstream_keeps_every_applier_to_hide_its_latency() -> None:
    assert applier_count(16, NEAR_RTT_S, cpus=2) == 16
    assert applier_count(16, 0.02, cpus=2) == 16


def test_small_batches_merge_up_to_a_thousand_changes_and_large_ones_stay() -> None:
    assert transaction_changes(100) == MERGE_CHANGES == 1000
    assert transaction_changes(5000) == 5000
