"""GTID sets of both flavours and Location: parsing, formatting, ordering, serialising."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dm.binlog.location import (
    Flavor,
    Location,
    MariaDBGTIDSet,
    MySQLGTIDSet,
    compare_locations,
    parse_dump_metadata,
    parse_gtid_set,
    parse_location,
)
from dm.errors import DMError

U1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
U2 = "3e11fa47-71ca-11e1-9e33-c80aa9429563"

uuids = st.sampled_from([U1, U2, str(uuid.UUID(int=7))])
gnos = st.integers(1, 200)
mysql_sets = st.lists(st.tuples(uuids, gnos, st.integers(0, 20)), max_size=6).map(
    lambda items: ",".join(f"{u}:{a}-{a + n}" for u, a, n in items))
mariadb_sets = st.dictionaries(st.integers(0, 5), st.tuples(st.integers(1, 9),
                                                            st.integers(0, 10**6)),
                               max_size=4).map(
    lambda d: ",".join(f"{dom}-{srv}-{seq}" for dom, (srv, seq) in d.items()))


def _members(s: MySQLGTIDSet) -> set[tuple[str, int]]:
    return {(sid, n) for sid, ivs in s.sets.items() for a, b in ivs for n in range(a, b + 1)}


@given(mysql_sets)
def test_mysql_round_trip_and_binary(text: str) -> None:
    s = MySQLGTIDSet.parse(text)
    assert MySQLGTIDSet.parse(str(s)) == s
    assert MySQLGTIDSet.decode(s.encode()) == s
    assert s.contains(s)


@given(mysql_sets, mysql_sets)
def test_mysql_contains_is_subset(a: str, b: str) -> None:
    sa, sb = MySQLGTIDSet.parse(a), MySQLGTIDSet.parse(b)
    assert sa.contains(sb) == (_members(sb) <= _members(sa))
    u = sa.union(sb)
    assert _members(u) == _members(sa) | _members(sb)
    assert u.contains(sa) and u.contains(sb)


@given(mysql_sets, uuids, gnos)
def test_mysql_add(text: str, sid: str, gno: int) -> None:
    s = MySQLGTIDSet.parse(text)
    added = s.add(f"{sid}:{gno}")
    assert _members(added) == _members(s) | {(sid, gno)}


def test_mysql_format_merges_and_sorts() -> None:
    s = parse_gtid_set(f"{U2}:1-3,\n{U1.upper()}:7-9:1-5:6")
    assert str(s) == f"{U1}:1-9,{U2}:1-3"
    assert str(s.add(f"{U1}:11")) == f"{U1}:1-9:11,{U2}:1-3"
    assert str(MySQLGTIDSet.parse(f"{U1}:5")) == f"{U1}:5"


@pytest.mark.parametrize("bad", ["nope:1", f"{U1}", f"{U1}:0", f"{U1}:5-3", f"{U1}:x"])
def test_mysql_invalid(bad: str) -> None:
    with pytest.raises(DMError) as err:
        MySQLGTIDSet.parse(bad)
    assert err.value.code == 28109


@given(mariadb_sets)
def test_mariadb_round_trip(text: str) -> None:
    s = MariaDBGTIDSet.parse(text)
    assert MariaDBGTIDSet.parse(str(s)) == s
    assert parse_gtid_set(str(s), Flavor.MARIADB) == s


@given(mariadb_sets, mariadb_sets)
def test_mariadb_contains(a: str, b: str) -> None:
    sa, sb = MariaDBGTIDSet.parse(a), MariaDBGTIDSet.parse(b)
    expected = all(d in sa.domains and sa.domains[d].sequence >= g.sequence
                   for d, g in sb.domains.items())
    assert sa.contains(sb) == expected
    u = sa.union(sb)
    assert u.contains(sa) and u.contains(sb)


def test_mariadb_add_and_errors() -> None:
    s = MariaDBGTIDSet.parse("0-1-100,1-2-5")
    assert str(s.add("0-1-101")) == "0-1-101,1-2-5"
    assert str(s.add("2-3-1")) == "0-1-100,1-2-5,2-3-1"
    assert s.add("0-1-101").contains(s) and not s.contains(s.add("0-1-101"))
    for bad in ("0-1", "0-1-2,0-1-3", "a-b-c"):
        with pytest.raises(DMError):
            MariaDBGTIDSet.parse(bad)


def test_flavor_detection() -> None:
    assert isinstance(parse_gtid_set("0-1-2"), MariaDBGTIDSet)
    assert isinstance(parse_gtid_set(f"{U1}:1"), MySQLGTIDSet)
    assert parse_gtid_set("", Flavor.MYSQL).is_empty()
    with pytest.raises(DMError):
        parse_gtid_set("")


files = st.integers(1, 999999).map(lambda n: f"mysql-bin.{n:06d}")
locations = st.builds(Location, files, st.integers(4, 2**32 - 1),
                      st.one_of(st.none(), mariadb_sets.map(MariaDBGTIDSet.parse)))


@given(locations)
def test_location_serialises(loc: Location) -> None:
    assert Location.from_dict(loc.to_dict()) == loc
    assert parse_location(str(loc), Flavor.MARIADB if loc.gtid_set is not None else None) == loc
    assert parse_location(loc.short()) == Location(loc.file, loc.pos)


@given(locations, locations)
def test_location_order_is_gtid_then_file_number_then_pos(a: Location, b: Location) -> None:
    key_a = (int(a.file.rsplit(".", 1)[1]), a.pos)
    key_b = (int(b.file.rsplit(".", 1)[1]), b.pos)
    assert (a < b) == (compare_locations(a, b, by_gtid=True) < 0)
    if a.gtid_set is None or b.gtid_set is None:
        assert (a < b) == (key_a < key_b)
    assert compare_locations(a, b, by_gtid=False) == (key_a > key_b) - (key_a < key_b)


def test_locations_of_two_servers_are_ordered_by_their_gtid_sets() -> None:
    """After the upstream switched to its promoted replica, a held shard's checkpoint on
    the old server (binlog.000004) is before the new server's binlog.000001 position
    that holds more transactions (it saved the checkpoint past unapplied rows)."""
    old = Location("binlog.000004", 25388, MariaDBGTIDSet.parse("0-61-300"))
    new = Location("binlog.000001", 76782, MariaDBGTIDSet.parse("0-61-310,1-62-5"))
    assert old < new and not new < old
    same_transaction = Location("binlog.000001", 900, new.gtid_set)
    assert same_transaction < new  # one set object: the position decides
    first_on_new = Location("binlog.000001", 900, MariaDBGTIDSet.parse("0-61-300"))
    assert not first_on_new < old  # equal sets: the same point (a row of the first
    # transaction on the new server was skipped as before the old server's checkpoint)


def test_location_order_across_suffix_widths() -> None:
    assert Location("bin.999999", 4) < Location("bin.1000000", 4)


def test_compare_by_gtid() -> None:
    a = Location("bin.000001", 900, MariaDBGTIDSet.parse("0-1-10"))
    b = Location("bin.000002", 4, MariaDBGTIDSet.parse("0-1-9"))
    assert compare_locations(a, b, by_gtid=True) == 1
    assert compare_locations(a, b, by_gtid=False) == -1
    c = Location("bin.000001", 4, MariaDBGTIDSet.parse("0-1-10"))
    assert compare_locations(a, c, by_gtid=True) == 0  # equal sets: the same point, as DM
    assert not a < c and not c < a
    inside = Location("bin.000001", 4, a.gtid_set)  # one transaction's: its set object
    assert compare_locations(a, inside, by_gtid=True) == 1
    assert a.with_gtid("0-1-11").gtid_set == MariaDBGTIDSet.parse("0-1-11")


@pytest.mark.parametrize("text", ["mysql-bin.000003:1234", "(mysql-bin.000003, 1234)",
                                  "position: (mysql-bin.000003, 1234), gtid-set: "])
def test_parse_location_forms(text: str) -> None:
    assert parse_location(text) == Location("mysql-bin.000003", 1234)


def test_parse_location_invalid() -> None:
    with pytest.raises(DMError) as err:
        parse_location("mysql-bin.000003")
    assert err.value.code == 28110


METADATA = f"""Started dump at: 2024-01-01 00:00:00
SHOW MASTER STATUS:
\tLog: mysql-bin.000003
\tPos: 1234
\tGTID:{U1}:1-5,
{U2}:1-3

SHOW SLAVE STATUS:
\tHost: 10.0.0.1
\tLog: relay.000001
\tPos: 99
\tGTID:

SHOW MASTER STATUS: /* AFTER CONNECTION POOL ESTABLISHED */
\tLog: mysql-bin.000003
\tPos: 2000
\tGTID:{U1}:1-6,
{U2}:1-3

Finished dump at: 2024-01-01 00:00:01
"""


def test_dump_metadata() -> None:
    meta = parse_dump_metadata(METADATA)
    assert meta.location == Location("mysql-bin.000003", 1234,
                                     parse_gtid_set(f"{U1}:1-5,{U2}:1-3"))
    assert meta.location_after is not None and meta.location_after.pos == 2000
    assert meta.location_after.gtid_set == parse_gtid_set(f"{U1}:1-6,{U2}:1-3")
    mariadb = parse_dump_metadata("SHOW MASTER STATUS:\n\tLog: bin.000001\n\tPos: 4\n"
                                  "\tGTID:0-1-5\n")
    assert mariadb.location.gtid_set == MariaDBGTIDSet.parse("0-1-5")


def test_dump_metadata_errors() -> None:
    with pytest.raises(DMError) as err:
        parse_dump_metadata("Started dump at: x\nFinished dump at: y\n", path="/d/metadata")
    assert err.value.code == 11123 and "/d/metadata" in err.value.message
    with pytest.raises(DMError) as err:
        parse_dump_metadata("SHOW MASTER STATUS:\n\tLog: bin.000001\n\tPos: x\n")
    assert err.value.code == 11001
