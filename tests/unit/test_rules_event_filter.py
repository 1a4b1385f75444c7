"""dm.rules.event_filter: DM's binlog event filter (spec §4.3), table-driven."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from dm import errors
from dm.config.base import BinlogEventRule
from dm.rules.event_filter import BinlogEventFilter, event_kind, normalize_event


@dataclass
class Rule:
    schema_pattern: str
    table_pattern: str = ""
    events: list[str] = field(default_factory=list)
    sql_pattern: list[str] = field(default_factory=list)
    action: str = "Ignore"


def do(schema: str, table: str = "", events: Sequence[str] = (), sql: Sequence[str] = ()) -> Rule:
    return Rule(schema, table, list(events), list(sql), "Do")


def ignore(
    schema: str, table: str = "", events: Sequence[str] = (), sql: Sequence[str] = ()
) -> Rule:
    return Rule(schema, table, list(events), list(sql), "Ignore")


DDL_ALTER = ("alter table",)
ALTER_DROP = ("alter table", "drop column")
ALTER_ADD = ("alter table", "add column")


# --- DML: one rule, every special name and both actions -----------------------------

# (events of the rule, action, event, skipped, why)
DML_CASES: list[tuple[list[str], str, str, bool, str]] = [
    (["insert"], "Ignore", "insert", True, "Ignore + listed event skips"),
    (["insert"], "Ignore", "update", False, "Ignore + other event keeps"),
    (["insert"], "Do", "insert", False, "Do + listed event keeps"),
    (["insert"], "Do", "delete", True, "Do + unlisted event skips"),
    (["insert", "delete"], "Do", "delete", False, "any listed name matches"),
    (["update", "delete"], "Ignore", "update", True, "any listed name matches"),
    ([], "Ignore", "insert", False, "Ignore without events never matches"),
    ([], "Do", "insert", True, "Do without events skips everything"),
    (["all"], "Ignore", "delete", True, "all matches DML"),
    (["all"], "Do", "delete", False, "all matches DML"),
    (["all dml"], "Ignore", "update", True, "all dml matches DML"),
    (["all dml"], "Do", "update", False, "all dml matches DML"),
    (["all ddl"], "Ignore", "insert", False, "all ddl does not match DML"),
    (["all ddl"], "Do", "insert", True, "all ddl does not match DML"),
    (["none"], "Ignore", "insert", False, "none matches nothing"),
    (["none"], "Do", "insert", True, "Do none skips every DML"),
    (["none dml"], "Ignore", "insert", False, "none dml matches no DML"),
    (["none dml"], "Do", "insert", True, "Do none dml skips DML"),
    (["none ddl"], "Ignore", "insert", False, "none ddl is not decisive for DML"),
    (["none ddl"], "Do", "insert", True, "none ddl is not decisive for DML"),
    (["none ddl", "insert"], "Ignore", "insert", True, "the entry after none ddl decides"),
    (["all ddl", "insert"], "Do", "insert", False, "all ddl is skipped over for DML"),
    (["none", "insert"], "Ignore", "insert", False, "none first: no match"),
    (["insert", "none"], "Ignore", "insert", True, "the event before none matches"),
    (["none", "all"], "Do", "insert", True, "none first wins over all"),
    (["all", "none"], "Do", "insert", False, "all first wins over none"),
    (["none dml", "insert"], "Ignore", "insert", False, "none dml first: no match"),
    (["all dml", "none"], "Do", "delete", False, "all dml first: match"),
    (["incompatible ddl changes"], "Ignore", "insert", False, "not a DML kind"),
    (["create table"], "Ignore", "insert", False, "DDL names never match DML"),
    (["create table"], "Do", "insert", True, "Do with DDL names skips DML"),
    (["INSERT"], "Ignore", "insert", True, "rule event names are case-insensitive"),
    (["insert"], "Ignore", "INSERT", True, "event argument is case-insensitive"),
]


@pytest.mark.parametrize(("events", "action", "event", "skipped", "why"), DML_CASES)
def test_dml_single_rule(
    events: list[str], action: str, event: str, skipped: bool, why: str
) -> None:
    f = BinlogEventFilter({"r": Rule("db", "t", events, [], action)})
    assert f.skip_dml("db", "t", event) is skipped, why
    assert f.skip_dml("db", "other", event) is False, "rule does not apply to other tables"


# --- DDL: one rule, every special name and both actions -----------------------------

# (events of the rule, action, statement events, skipped, why)
DDL_CASES: list[tuple[list[str], str, tuple[str, ...], bool, str]] = [
    (["create table"], "Ignore", ("create table",), True, "Ignore + listed event skips"),
    (["create table"], "Ignore", ("drop table",), False, "Ignore + other event keeps"),
    (["create table"], "Do", ("create table",), False, "Do + listed event keeps"),
    (["create table"], "Do", ("drop table",), True, "Do + unlisted event skips"),
    ([], "Do", ("create table",), True, "Do without events skips every DDL"),
    ([], "Ignore", ("create table",), False, "Ignore without events keeps"),
    (["all"], "Ignore", ("create table",), True, "all matches DDL"),
    (["all"], "Do", ("drop table",), False, "all matches DDL"),
    (["all ddl"], "Ignore", ("truncate table",), True, "all ddl matches DDL"),
    (["all ddl"], "Ignore", ALTER_DROP, True, "all ddl matches incompatible DDL"),
    (["all ddl"], "Do", ("create index",), False, "all ddl matches DDL"),
    (["all dml"], "Ignore", ("create table",), False, "all dml does not match DDL"),
    (["all dml"], "Do", ("create table",), True, "Do all dml skips DDL"),
    (["none"], "Do", ("create table",), True, "none matches nothing"),
    (["none ddl"], "Ignore", ("drop table",), False, "none ddl matches no DDL"),
    (["none ddl"], "Do", ("drop table",), True, "Do none ddl skips DDL"),
    (["none dml"], "Do", ("drop table",), True, "none dml is not decisive for DDL"),
    (["none dml", "drop table"], "Do", ("drop table",), False, "next entry decides"),
    (["all dml", "drop table"], "Ignore", ("drop table",), True, "all dml skipped over"),
    (["none ddl", "drop table"], "Ignore", ("drop table",), False, "none ddl first"),
    (["drop table", "none ddl"], "Ignore", ("drop table",), True, "event before none ddl"),
    (["none", "all ddl"], "Do", ("create table",), True, "none first wins"),
    (["all ddl", "none"], "Do", ("create table",), False, "all ddl first wins"),
    (["incompatible ddl changes"], "Ignore", ("drop table",), True, "drop is incompatible"),
    (["incompatible ddl changes"], "Ignore", ALTER_DROP, True, "drop column is incompatible"),
    (["incompatible ddl changes"], "Ignore", ALTER_ADD, True, "add column is incompatible"),
    (["incompatible ddl changes"], "Ignore", ("create table",), False, "create is compatible"),
    (["incompatible ddl changes"], "Ignore", DDL_ALTER, False, "alter table is compatible"),
    (["incompatible ddl changes"], "Do", ("rename table",), False, "rename is incompatible"),
    (["incompatible ddl changes"], "Do", ("create index",), True, "create index is compatible"),
    (["insert"], "Ignore", ("create table",), False, "DML names never match DDL"),
    (["alter table"], "Ignore", ALTER_DROP, True, "statement name matches"),
    (["drop column"], "Ignore", ALTER_DROP, True, "finer name matches"),
    (["add column"], "Ignore", ALTER_DROP, False, "other change keeps"),
    (["alter table"], "Do", ALTER_ADD, False, "Do statement name keeps"),
    (["add column"], "Do", ALTER_ADD, False, "Do finer name keeps"),
    (["drop column"], "Do", ALTER_ADD, True, "Do other change skips"),
    (["create schema"], "Ignore", ("create database",), True, "create schema is an alias"),
    (["create database"], "Ignore", ("create schema",), True, "alias on the event side too"),
    (["drop schema"], "Ignore", ("drop database",), True, "drop schema is an alias"),
    (["alter schema"], "Do", ("alter database",), False, "alter schema is an alias"),
    (["Drop Table"], "Ignore", ("drop table",), True, "rule names are case-insensitive"),
    (["drop table"], "Ignore", ("DROP TABLE",), True, "event names are case-insensitive"),
]


@pytest.mark.parametrize(("events", "action", "ddl", "skipped", "why"), DDL_CASES)
def test_ddl_single_rule(
    events: list[str], action: str, ddl: tuple[str, ...], skipped: bool, why: str
) -> None:
    f = BinlogEventFilter({"r": Rule("db", "t", events, [], action)})
    assert f.skip_ddl("db", "t", ddl, "some statement") is skipped, why
    assert f.skip_ddl("db", "other", ddl, "some statement") is False, "other table"


# --- which rules apply: schema-level, table-level, schema-only statements ------------

APPLY_CASES: list[tuple[Rule, str, str, bool, str]] = [
    (ignore("db", "", ["all"]), "db", "t", True, "schema-level rule covers the tables"),
    (ignore("db", "", ["all"]), "db", "", True, "schema-level rule covers the schema"),
    (ignore("db", "", ["all"]), "db2", "t", False, "other schema"),
    (ignore("db*", "", ["all"]), "db2", "t", True, "schema wildcard"),
    (ignore("db*", "", ["all"]), "db", "t", True, "* also matches nothing"),
    (ignore("db?", "", ["all"]), "db", "t", False, "? needs a character"),
    (ignore("db[0-3]", "", ["all"]), "db2", "t", True, "range"),
    (ignore("db[!0-3]", "", ["all"]), "db2", "t", False, "negated range"),
    (ignore("db", "t", ["all"]), "db", "t", True, "table-level rule"),
    (ignore("db", "t", ["all"]), "db", "t2", False, "table-level: other table"),
    (ignore("db", "t", ["all"]), "db", "", False, "table-level: not schema-only"),
    (ignore("db", "t*", ["all"]), "db", "", False, "t* needs the t"),
    (ignore("db", "*", ["all"]), "db", "", True, "table-pattern * matches the empty table"),
    (ignore("db", "*", ["all"]), "db", "x", True, "table-pattern * matches any table"),
    (ignore("*", "", ["all"]), "any", "t", True, "schema-pattern * matches any schema"),
    (ignore("*", "t", ["all"]), "any", "t", True, "schema * and table t"),
    (ignore("*", "t", ["all"]), "any", "u", False, "schema * and table t: other table"),
    (ignore("DB", "T", ["all"]), "db", "t", True, "patterns folded"),
    (ignore("db", "t", ["all"]), "DB", "T", True, "names folded"),
]


@pytest.mark.parametrize(("rule", "schema", "table", "skipped", "why"), APPLY_CASES)
def test_which_rules_apply(rule: Rule, schema: str, table: str, skipped: bool, why: str) -> None:
    f = BinlogEventFilter([rule])
    assert f.skip_ddl(schema, table, ("drop table",), "DROP TABLE x") is skipped, why
    if table:
        assert f.skip_dml(schema, table, "insert") is skipped, why


# --- several rules: Ignore always wins; schema-level rules reach the tables ---------

MULTI_CASES: list[tuple[list[Rule], str, str, str, bool, str]] = [
    # (rules, schema, table, DML event, skipped, why)
    ([do("db", "t", ["all"]), ignore("db", "t*", ["delete"])], "db", "t", "delete", True,
     "Ignore beats Do"),
    ([ignore("db", "t*", ["delete"]), do("db", "t", ["all"])], "db", "t", "delete", True,
     "rule order does not matter"),
    ([do("db", "t", ["all"]), ignore("db", "t*", ["delete"])], "db", "t", "insert", False,
     "both keep"),
    ([do("db", "", ["all dml"]), ignore("db", "t", ["delete"])], "db", "t", "delete", True,
     "table-level Ignore beneath schema-level Do"),
    ([do("db", "", ["all dml"]), ignore("db", "t", ["delete"])], "db", "u", "delete", False,
     "only the schema-level rule applies to u"),
    ([ignore("db", "", ["delete"]), do("db", "t", ["all"])], "db", "t", "delete", True,
     "schema-level Ignore reaches the table even with a table-level Do"),
    ([do("db", "", ["create table"]), do("db", "t", ["insert"])], "db", "t", "insert", True,
     "a schema-level Do without DML events skips DML of its tables"),
    ([do("db", "t", ["insert"]), do("db", "t*", ["update"])], "db", "t", "insert", True,
     "every Do rule must match"),
    ([do("db", "t", ["insert", "update"]), do("db", "t*", ["update"])], "db", "t", "update",
     False, "all Do rules match"),
    ([do("d*", "", ["all"]), do("db", "", ["none"])], "db", "t", "insert", True,
     "Do none on one schema rule"),
    ([ignore("x*", "", ["all"]), do("db", "", ["insert"])], "db", "t", "insert", False,
     "non-matching rules are not consulted"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "schema", "table", "event", "skipped", "why"), MULTI_CASES)
def test_several_rules(
    rules: list[Rule], schema: str, table: str, event: str, skipped: bool, why: str
) -> None:
    assert BinlogEventFilter(rules).skip_dml(schema, table, event) is skipped, why
    assert BinlogEventFilter(rules[::-1]).skip_dml(schema, table, event) is skipped, why


def test_schema_level_statement_meets_table_star_rules() -> None:
    f = BinlogEventFilter([do("db", "", ["all"]), ignore("db", "*", ["drop database"])])
    assert f.skip_ddl("db", "", ("drop database",), "DROP DATABASE db")
    assert not f.skip_ddl("db", "", ("create database",), "CREATE DATABASE db")
    f = BinlogEventFilter([ignore("db", "t*", ["drop database"])])
    assert not f.skip_ddl("db", "", ("drop database",), "DROP DATABASE db")


# --- sql-pattern -------------------------------------------------------------------

SQL = "ALTER TABLE t ADD COLUMN c INT"

# (rule, statement events, statement, skipped, why)
SQL_CASES: list[tuple[Rule, tuple[str, ...], str, bool, str]] = [
    (ignore("db", "", [], ["^alter"]), DDL_ALTER, SQL, True, "Ignore + pattern match skips"),
    (ignore("db", "", [], ["^drop"]), DDL_ALTER, SQL, False, "Ignore + no match keeps"),
    (ignore("db", "", [], ["add column"]), DDL_ALTER, SQL, True, "searched anywhere"),
    (ignore("db", "", [], ["^add"]), DDL_ALTER, SQL, False, "^ anchors at the start"),
    (ignore("db", "", [], ["ADD\\s+COLUMN"]), DDL_ALTER, SQL.lower(), True, "case-insensitive"),
    (ignore("db", "", [], ["^drop", "^alter"]), DDL_ALTER, SQL, True, "patterns joined by |"),
    (ignore("db", "", [], ["^alter"]), DDL_ALTER, "", False, "no statement text: no check"),
    (ignore("db", "", [], ["^alter"]), (), SQL, True, "no event names: sql-pattern only"),
    (ignore("db", "", [], []), (), SQL, False, "nothing to check"),
    (do("db", "", ["all"], ["^alter"]), DDL_ALTER, SQL, False, "Do: event and pattern match"),
    (do("db", "", ["all"], ["^drop"]), DDL_ALTER, SQL, True, "Do + no pattern match skips"),
    (do("db", "", ["all"], []), DDL_ALTER, SQL, False, "Do without sql-pattern: events only"),
    (do("db", "", [], ["^alter"]), DDL_ALTER, SQL, True, "Do: events checked first, none"),
    (do("db", "", [], ["^alter"]), (), SQL, False, "Do, no event names: pattern keeps"),
    (do("db", "", [], ["^drop"]), (), SQL, True, "Do, no event names: no match skips"),
    (do("db", "", ["none"], []), (), SQL, False, "no event names: events not checked"),
    (ignore("db", "", ["create table"], ["^alter"]), DDL_ALTER, SQL, True,
     "Ignore: event misses, pattern hits"),
    (ignore("db", "", ["alter table"], ["^drop"]), DDL_ALTER, SQL, True,
     "Ignore: event hits, pattern misses"),
    (do("db", "", ["create table"], ["^alter"]), DDL_ALTER, SQL, True,
     "Do: pattern hit does not save a missed event"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "ddl", "sql", "skipped", "why"), SQL_CASES)
def test_sql_pattern(rule: Rule, ddl: tuple[str, ...], sql: str, skipped: bool, why: str) -> None:
    assert BinlogEventFilter([rule]).skip_ddl("db", "t", ddl, sql) is skipped, why


def test_sql_pattern_does_not_touch_dml() -> None:
    f = BinlogEventFilter([ignore("db", "", [], [".*"]), do("db", "t", ["all"], ["^nothing"])])
    for event in ("insert", "update", "delete"):
        assert not f.skip_dml("db", "t", event)


def test_sql_pattern_case_insensitive_even_when_names_are_not() -> None:
    f = BinlogEventFilter([ignore("db", "", [], ["^alter"])], case_sensitive=True)
    assert f.skip_ddl("db", "t", DDL_ALTER, SQL)


# --- global SQL patterns (schema-pattern `*`) ---------------------------------------

GLOBAL_CASES: list[tuple[Rule, str, bool, str]] = [
    (ignore("*", "", [], ["^create trigger"]), "CREATE TRIGGER x", True, "global Ignore"),
    (ignore("*", "", [], ["^create trigger"]), "CREATE TABLE x", False, "no match"),
    (ignore("*", "*", [], ["^create trigger"]), "CREATE TRIGGER x", True, "table * too"),
    (ignore("*", "t*", [], ["^create trigger"]), "CREATE TRIGGER x", False, "table t*: no"),
    (ignore("db*", "", [], ["^create trigger"]), "CREATE TRIGGER x", False, "not global"),
    (ignore("*", "", ["all"], []), "CREATE TRIGGER x", False, "events are not checked"),
    (do("*", "", [], ["^create"]), "CREATE TRIGGER x", False, "global Do matched"),
    (do("*", "", [], ["^create"]), "GRANT x", True, "global Do not matched skips"),
    (do("*", "", ["none"], []), "GRANT x", False, "Do without sql-pattern keeps"),
]


@pytest.mark.parametrize(("rule", "sql", "skipped", "why"), GLOBAL_CASES)
def test_global_sql_pattern(rule: Rule, sql: str, skipped: bool, why: str) -> None:
    f = BinlogEventFilter([rule])
    assert f.skip_sql(sql) is skipped, why
    assert f.skip_ddl("", "", (), sql) is skipped, why


def test_global_rule_also_applies_to_every_table() -> None:
    f = BinlogEventFilter([ignore("*", "", ["truncate table"], ["^create trigger"])])
    assert f.skip_ddl("any", "t", ("truncate table",), "TRUNCATE TABLE t")
    assert f.skip_ddl("any", "", (), "create trigger x")
    assert not f.skip_ddl("any", "t", ("drop table",), "DROP TABLE t")


# --- case sensitivity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "schema", "case_sensitive", "skipped"),
    [
        ("db*", "DB1", False, True),
        ("DB*", "db1", False, True),
        ("Db*", "dB1", False, True),
        ("db*", "DB1", True, False),
        ("DB*", "db1", True, False),
        ("DB*", "DB1", True, True),
    ],
)
def test_case_folding(pattern: str, schema: str, case_sensitive: bool, skipped: bool) -> None:
    f = BinlogEventFilter([ignore(pattern, "T", ["all"])], case_sensitive=case_sensitive)
    table = "T" if case_sensitive else "t"
    assert f.skip_dml(schema, table, "insert") is skipped
    assert f.skip_ddl(schema, table, ("drop table",), "DROP TABLE t") is skipped


def test_case_sensitive_keeps_distinct_patterns_apart() -> None:
    rules = {"a": ignore("db", "t", ["insert"]), "b": ignore("DB", "T", ["delete"])}
    f = BinlogEventFilter(rules, case_sensitive=True)
    assert f.skip_dml("db", "t", "insert") and not f.skip_dml("db", "t", "delete")
    assert f.skip_dml("DB", "T", "delete") and not f.skip_dml("DB", "T", "insert")


# --- input forms, the config model, no rules ----------------------------------------


def test_no_rules_skip_nothing() -> None:
    f = BinlogEventFilter({})
    assert f.empty
    assert not f.skip_dml("db", "t", "insert")
    assert not f.skip_ddl("db", "t", ("drop table",), "DROP TABLE t")
    assert not f.skip_sql("anything")


def test_mapping_and_sequence_give_the_same_filter() -> None:
    rules = [ignore("db", "t", ["delete"]), do("db", "", ["all dml", "create table"])]
    by_name = BinlogEventFilter({f"r{i}": r for i, r in enumerate(rules)})
    by_list = BinlogEventFilter(rules)
    for table in ("t", "u"):
        for event in ("insert", "update", "delete"):
            assert by_name.skip_dml("db", table, event) == by_list.skip_dml("db", table, event)
    assert by_list.skip_ddl("db", "t", ("drop table",), "DROP TABLE t")
    assert not by_list.skip_ddl("db", "t", ("create table",), "CREATE TABLE t (a int)")


def test_config_model_rules() -> None:
    rules = {
        "no-delete": BinlogEventRule(
            schema_pattern="shop_*", table_pattern="order*", events=["Delete"], action="Ignore"
        ),
        "no-trigger": BinlogEventRule(
            schema_pattern="*", sql_pattern=["^CREATE\\s+TRIGGER"], action="Ignore"
        ),
        "only-creates": BinlogEventRule(
            schema_pattern="shop_*", events=["all dml", "create table"], action="Do"
        ),
    }
    f = BinlogEventFilter(rules)
    assert f.skip_dml("Shop_1", "Orders", "delete")
    assert not f.skip_dml("shop_1", "orders", "insert")
    assert not f.skip_dml("shop_1", "users", "delete")
    assert f.skip_ddl("shop_1", "users", ("drop table",), "DROP TABLE users")
    assert not f.skip_ddl("shop_1", "users", ("create table",), "CREATE TABLE users (a int)")
    assert f.skip_sql("create trigger x before insert on t for each row set @a = 1")
    assert not f.skip_sql("ALTER TABLE t ADD c INT")


# --- caching ------------------------------------------------------------------------


def test_dml_results_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    f = BinlogEventFilter([ignore("db", "t", ["delete"])])
    assert f.skip_dml("db", "t", "delete")
    assert not f.skip_dml("db", "t", "insert")

    def boom(*_: Any) -> None:
        raise AssertionError("rules consulted again")

    monkeypatch.setattr(f, "_matching", boom)
    assert f.skip_dml("db", "t", "delete")
    assert not f.skip_dml("db", "t", "insert")
    with pytest.raises(AssertionError):
        f.skip_dml("db", "t", "update")


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import dm.rules.event_filter as module

    monkeypatch.setattr(module, "_CACHE_LIMIT", 3)
    f = BinlogEventFilter([ignore("db", "", ["delete"])])
    for i in range(10):
        assert f.skip_dml("db", f"t{i}", "delete")
        assert len(f._dml_cache) <= 3
        assert len(f._match_cache) <= 3


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "detail"),
    [
        ({"r": ignore("", "", ["all"])}, "must not be empty"),
        ({"r": ignore("d*b", "", ["all"])}, "may only be the last character"),
        ({"r": ignore("db", "t*x", ["all"])}, "may only be the last character"),
        ({"r": Rule("db", "", ["all"], [], "Error")}, "action must be Do or Ignore"),
        ({"r": ignore("db", "", ["create trigger"])}, "unknown binlog event type"),
        ({"r": ignore("db", "", [], ["(unclosed"])}, "bad regular expression"),
        ({"a": ignore("db", "t"), "r": do("DB", "T", ["all"])}, "same schema-pattern"),
    ],
)
def test_bad_rules_are_coded_errors(rules: dict[str, Rule], detail: str) -> None:
    with pytest.raises(errors.DMError) as info:
        BinlogEventFilter(rules)
    assert info.value.code == errors.CONFIG_EVENT_FILTER.code
    assert "filters.r: " in info.value.message
    assert detail in info.value.message


@pytest.mark.parametrize("event", ["create table", "all", "all dml", "", "upsert"])
def test_skip_dml_rejects_non_dml_events(event: str) -> None:
    f = BinlogEventFilter([ignore("db", "", ["all"])])
    with pytest.raises(ValueError, match="not a DML event"):
        f.skip_dml("db", "t", event)


@pytest.mark.parametrize("event", ["all", "none ddl", "create trigger"])
def test_skip_ddl_rejects_unknown_events(event: str) -> None:
    f = BinlogEventFilter([ignore("db", "", ["all"])])
    with pytest.raises(ValueError, match="unknown binlog event type"):
        f.skip_ddl("db", "t", (event,), "x")


def test_empty_event_names_are_ignored() -> None:
    f = BinlogEventFilter([do("db", "", ["create table"])])
    assert not f.skip_ddl("db", "t", ("",), "CREATE TRIGGER x")


# --- helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("insert", "dml"),
        ("update", "dml"),
        ("delete", "dml"),
        ("create database", "ddl"),
        ("alter database", "ddl"),
        ("create table", "ddl"),
        ("create index", "ddl"),
        ("create view", "ddl"),
        ("drop view", "ddl"),
        ("alter table", "ddl"),
        ("add table partition", "ddl"),
        ("drop database", "incompatible ddl"),
        ("drop table", "incompatible ddl"),
        ("truncate table", "incompatible ddl"),
        ("rename table", "incompatible ddl"),
        ("drop index", "incompatible ddl"),
        ("add column", "incompatible ddl"),
        ("modify column", "incompatible ddl"),
        ("add foreign key", "incompatible ddl"),
        ("incompatible ddl changes", "incompatible ddl"),
    ],
)
def test_event_kind(event: str, kind: str) -> None:
    assert event_kind(event) == kind


def test_every_config_event_name_is_known() -> None:
    from dm.config.base import EVENT_TYPES

    special = {"all", "all dml", "all ddl", "none", "none dml", "none ddl"}
    for name in EVENT_TYPES - special:
        event_kind(normalize_event(name))
    assert normalize_event("Create Schema") == "create database"
    assert normalize_event("DROP SCHEMA") == "drop database"
    assert normalize_event("alter schema") == "alter database"
