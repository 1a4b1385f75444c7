"""Source ↔ worker binding rules (DM §10.3), pure."""

from dm.master.scheduler import Binding, plan_bindings


def test_binds_unbound_sources_to_free_workers_in_name_order() -> None:
    unbind, new = plan_bindings({"s1", "s2"}, {"w2", "w1"}, {}, {})
    assert unbind == []
    assert new == [Binding("w1", "s1"), Binding("w2", "s2")]


def test_one_source_per_worker_and_waiting_sources_stay_unbound() -> None:
    _, new = plan_bindings({"s1", "s2", "s3"}, {"w1"}, {}, {})
    assert new == [Binding("w1", "s1")]


def test_offline_worker_loses_its_source_which_moves_to_a_free_worker() -> None:
    unbind, new = plan_bindings({"s1"}, {"w2"}, {"w1": "s1"}, {})
    assert unbind == ["w1"]
    assert new == [Binding("w2", "s1")]


def test_last_bound_worker_is_preferred() -> None:
    _, new = plan_bindings({"s1"}, {"w1", "w2"}, {}, {"w2": "s1"})
    assert new == [Binding("w2", "s1")]


def test_removed_source_frees_its_worker() -> None:
    unbind, new = plan_bindings({"s2"}, {"w1"}, {"w1": "s1"}, {})
    assert unbind == ["w1"]
    assert new == [Binding("w1", "s2")]


def test_stable_bindings_are_kept() -> None:
    assert plan_bindings({"s1"}, {"w1", "w2"}, {"w1": "s1"}, {}) == ([], [])


def test_a_source_in_dump_or_load_waits_for_the_worker_holding_its_files() -> None:
    unbind, new = plan_bindings({"s1"}, {"w2"}, {"w1": "s1"}, {}, {"s1": "w1"}, {"w1", "w2"})
    assert unbind == ["w1"] and new == []  # w1 is offline but registered: s1 waits


def test_the_holder_gets_its_source_back_before_anyone_else() -> None:
    _, new = plan_bindings({"s1", "s2"}, {"w1", "w2"}, {}, {"w1": "s1"}, {"s2": "w1"},
                           {"w1", "w2"})
    assert new == [Binding("w2", "s1"), Binding("w1", "s2")]


def test_a_holder_removed_from_the_cluster_no_longer_holds_the_source() -> None:
    _, new = plan_bindings({"s1"}, {"w2"}, {}, {}, {"s1": "w1"}, {"w2"})
    assert new == [Binding("w2", "s1")]


def test_a_relay_worker_of_the_source_comes_first() -> None:
    # w1 (a relay worker of s1) beats w2 (s1's last bound worker) and name order
    _, new = plan_bindings({"s1"}, {"w0", "w1", "w2"}, {}, {"w2": "s1"},
                           relays={"w1": "s1"})
    assert new == [Binding("w1", "s1")]


def test_the_relay_worker_the_source_was_bound_to_comes_before_other_relay_workers() -> None:
    _, new = plan_bindings({"s1"}, {"w1", "w2"}, {}, {"w2": "s1"},
                           relays={"w1": "s1", "w2": "s1"})
    assert new == [Binding("w2", "s1")]


def test_a_relay_worker_is_never_bound_to_another_source() -> None:
    _, new = plan_bindings({"s2"}, {"w1"}, {}, {"w1": "s2"}, relays={"w1": "s1"})
    assert new == []  # s2 waits for a worker free of any other relay
    _, new = plan_bindings({"s1", "s2"}, {"w1", "w2"}, {}, {}, relays={"w1": "s2"})
    assert new == [Binding("w2", "s1"), Binding("w1", "s2")]
