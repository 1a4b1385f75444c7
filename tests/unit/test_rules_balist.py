"""dm.rules.balist: DM's block/allow list precedence (spec §4.2), table-driven."""

from dataclasses import dataclass, field

import pytest

from dm import errors
from dm.core.schemas import SYSTEM_SCHEMAS, is_system_schema
from dm.rules.balist import BlockAllowList


@dataclass
class Ref:
    db_name: str
    tbl_name: str


@dataclass
class Rule:
    do_dbs: list[str] = field(default_factory=list)
    ignore_dbs: list[str] = field(default_factory=list)
    do_tables: list[Ref] = field(default_factory=list)
    ignore_tables: list[Ref] = field(default_factory=list)


def refs(*pairs: str) -> list[Ref]:
    return [Ref(*p.split(".")) for p in pairs]


CASES = [
    # (rule, schema, table, allowed, why)
    (Rule(), "db", "t", True, "no rule: everything passes"),
    (Rule(), "db", "", True, "no rule: schema passes"),
    # 1. schema level
    (Rule(do_dbs=["db"]), "db", "t", True, "do-dbs match"),
    (Rule(do_dbs=["db"]), "other", "t", False, "do-dbs set, no match"),
    (Rule(do_dbs=["db"]), "other", "", False, "do-dbs applies to schema-only checks"),
    (Rule(ignore_dbs=["db"]), "db", "t", False, "ignore-dbs match"),
    (Rule(ignore_dbs=["db"]), "db", "", False, "ignore-dbs drops the schema itself"),
    (Rule(ignore_dbs=["db"]), "other", "t", True, "ignore-dbs no match"),
    (Rule(do_dbs=["db"], ignore_dbs=["db"]), "db", "t", True, "ignore-dbs unused with do-dbs"),
    (Rule(do_dbs=["a"], ignore_dbs=["b"]), "c", "t", False, "do-dbs decides alone"),
    (Rule(do_dbs=["db_*"]), "db_01", "t", True, "wildcard do-dbs"),
    (Rule(do_dbs=["~^db_\\d+$"]), "db_01", "t", True, "regex do-dbs"),
    (Rule(do_dbs=["~^db_\\d+$"]), "db_x", "t", False, "regex do-dbs no match"),
    (Rule(ignore_dbs=["~^tmp"]), "tmp_1", "t", False, "regex ignore-dbs"),
    # 2. table level
    (Rule(do_tables=refs("db.t")), "db", "", True, "schema-only check passes table rules"),
    (Rule(do_tables=refs("db.t")), "db", "t", True, "do-tables match"),
    (Rule(do_tables=refs("db.t")), "db", "u", False, "do-tables set, no match"),
    (Rule(do_tables=refs("db.t")), "other", "t", False, "do-tables needs the schema too"),
    (Rule(ignore_tables=refs("db.t")), "db", "t", False, "ignore-tables match"),
    (Rule(ignore_tables=refs("db.t")), "db", "u", True, "ignore-tables no match, no do-tables"),
    (Rule(do_tables=refs("db.t"), ignore_tables=refs("db.t")), "db", "t", True, "do wins"),
    (
        Rule(do_tables=refs("db.t*"), ignore_tables=refs("db.t2")),
        "db",
        "t2",
        True,
        "a do-tables match wins over ignore-tables",
    ),
    (
        Rule(do_tables=refs("db.a"), ignore_tables=refs("db.b")),
        "db",
        "c",
        False,
        "neither matches and do-tables is set",
    ),
    (Rule(do_tables=refs("db.t_*")), "db", "t_1", True, "wildcard table"),
    (Rule(do_tables=refs("db.t_?")), "db", "t_12", False, "? is one character"),
    (Rule(do_tables=[Ref("~^d", "~^t_\\d+$")]), "db", "t_1", True, "regex both"),
    (Rule(do_tables=[Ref("~^d", "t_*")]), "db", "t_1", True, "regex schema, wildcard table"),
    (Rule(do_tables=[Ref("db", "~^t_")]), "db", "t_1", True, "wildcard schema, regex table"),
    (Rule(do_tables=[Ref("db", "~^t_")]), "db", "u_1", False, "regex table no match"),
    # both levels
    (Rule(do_dbs=["db"], ignore_tables=refs("db.log")), "db", "log", False, "schema ok, table not"),
    (Rule(do_dbs=["db"], ignore_tables=refs("db.log")), "db", "user", True, "schema ok, table ok"),
    (Rule(ignore_dbs=["db"], do_tables=refs("db.t")), "db", "t", False, "schema level first"),
    (Rule(do_dbs=["x"], do_tables=refs("db.t")), "db", "t", False, "do-dbs must match first"),
]


@pytest.mark.parametrize(("rule", "schema", "table", "allowed", "why"), CASES)
def test_precedence(rule: Rule, schema: str, table: str, allowed: bool, why: str) -> None:
    assert BlockAllowList(rule).allows(schema, table) is allowed, why


@pytest.mark.parametrize(
    ("schema", "table", "case_sensitive", "allowed"),
    [
        ("DB", "T", False, True),  # names fold to lower case
        ("db", "t", False, True),
        ("DB", "T", True, False),  # ...unless case-sensitive
        ("Db", "T", True, True),
    ],
)
def test_case_folding(schema: str, table: str, case_sensitive: bool, allowed: bool) -> None:
    rule = Rule(do_tables=refs("Db.T"))
    assert BlockAllowList(rule, case_sensitive=case_sensitive).allows(schema, table) is allowed


def test_regex_is_case_insensitive_unless_case_sensitive() -> None:
    rule = Rule(do_dbs=["~^Shop$"])
    assert BlockAllowList(rule).allows("SHOP", "t")
    assert not BlockAllowList(rule, case_sensitive=True).allows("SHOP", "t")


def test_regex_keeps_its_escapes_when_folding() -> None:
    # DM lower-cases `~` values too, which turns \D into \d; we do not.
    rule = Rule(do_dbs=["~^\\D+$"])
    assert BlockAllowList(rule).allows("shop", "t")
    assert not BlockAllowList(rule).allows("shop1", "t")


def test_table_rules_pair_their_own_schema_and_table() -> None:
    # DM's trie lets `~^a`/t1 and `~^b`/t2 cross-match b.t1; each rule here is one pair.
    rule = Rule(do_tables=[Ref("~^a", "t1"), Ref("~^b", "t2")])
    balist = BlockAllowList(rule)
    assert balist.allows("a", "t1")
    assert balist.allows("b", "t2")
    assert not balist.allows("b", "t1")


@pytest.mark.parametrize("schema", [*sorted(SYSTEM_SCHEMAS), "MySQL", "INFORMATION_SCHEMA"])
def test_system_schemas_are_always_skipped(schema: str) -> None:
    everything = Rule(do_dbs=["*"], do_tables=refs("*.*"))
    assert is_system_schema(schema)
    assert not BlockAllowList(everything).allows(schema, "t")
    assert not BlockAllowList(None).allows(schema, "")


def test_results_are_cached() -> None:
    balist = BlockAllowList(Rule(do_dbs=["db"]))
    assert balist.allows("DB", "T")
    assert balist._cache == {("db", "t"): True}
    assert balist.allows("db", "t")


@pytest.mark.parametrize(
    "rule",
    [
        Rule(do_dbs=[""]),
        Rule(ignore_dbs=["a*b"]),
        Rule(do_tables=[Ref("db", "")]),
        Rule(ignore_tables=[Ref("~(", "t")]),
    ],
)
def test_bad_rules_are_coded_errors(rule: Rule) -> None:
    with pytest.raises(errors.DMError) as info:
        BlockAllowList(rule, name="instance")
    assert info.value.code == errors.CONFIG_BA_LIST.code
    assert info.value.message.startswith("block-allow-list.instance: ")


@pytest.mark.parametrize(("rule", "taken"), [
    (Rule(), {"a", "b", "empty"}),
    (Rule(ignore_dbs=["b"]), {"a", "empty"}),
    (Rule(do_dbs=["a", "empty"]), {"a", "empty"}),
    (Rule(do_tables=refs("a.t")), {"a"}),  # a database no do-tables entry names is not taken
    (Rule(do_dbs=["~^e"], do_tables=refs("a.t")), {"empty"}),  # do-dbs decide
])
def test_databases_the_dump_takes_with_tables_or_not(rule: Rule, taken: set[str]) -> None:
    ba = BlockAllowList(rule)
    assert {d for d in ("a", "b", "empty", "mysql") if ba.takes_database(d)} == taken
